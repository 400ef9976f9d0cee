package dev.glimpse.evalharness.synth;

import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongConsumer;
import java.util.stream.LongStream;

/**
 * Writes part of a split as files for training code:
 * <pre>
 * DIR/images/s&lt;seed&gt;.png        one per scene (lossless, exactly the pixels evaluation feeds)
 * DIR/clips/c&lt;seed&gt;.mp4         one per clip (the same encoding evaluation decodes)
 * DIR/&lt;split&gt;.jsonl             one row per question:
 *   {"id", "media" (path relative to DIR), "kind" ("image"|"clip"), "question", "answer", "type",
 *    "split", "seed", "truth" (GroundTruthJson: objects with bounding boxes; per-frame for clips)}
 * </pre>
 * Items render in parallel; rows are written in item order, so the same request always writes the
 * same files.
 */
public final class SynthExport {

    private static final int CHUNK = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SynthBenchmark benchmark;

    public SynthExport(SynthBenchmark benchmark) {
        this.benchmark = benchmark;
    }

    /**
     * What to export.
     *
     * @param split  the split
     * @param kind   images, clips or both
     * @param first  index of the first item within the split
     * @param count  items of each kind
     * @param out    destination folder
     */
    public record Request(Split split, MediaKind kind, long first, long count, Path out) {
        public Request {
            if (first < 0 || count < 1 || first + count > split.size()) {
                throw new IllegalArgumentException("--first " + first + " --count " + count + " must lie within the "
                        + split.key() + " split's " + split.size() + " items (count >= 1)");
            }
        }
    }

    /**
     * Writes the request's files; {@code progress} hears each finished item.
     *
     * @return the number of question rows written
     */
    public long export(Request request, LongConsumer progress) throws IOException {
        Files.createDirectories(request.out());
        Path jsonl = request.out().resolve(request.split().key() + ".jsonl");
        long rows = 0;
        try (BufferedWriter w = Files.newBufferedWriter(jsonl, StandardCharsets.UTF_8)) {
            if (request.kind().includesImages()) {
                Files.createDirectories(request.out().resolve("images"));
                rows += chunks(request, w, progress, i -> sceneRows(request, i));
            }
            if (request.kind().includesClips()) {
                Files.createDirectories(request.out().resolve("clips"));
                rows += chunks(request, w, progress, i -> clipRows(request, i));
            }
        }
        return rows;
    }

    private interface RowMaker {
        List<Map<String, Object>> rows(long index) throws IOException;
    }

    private long chunks(Request request, BufferedWriter w, LongConsumer progress, RowMaker maker) throws IOException {
        long rows = 0;
        long end = request.first() + request.count();
        for (long start = request.first(); start < end; start += CHUNK) {
            List<List<Map<String, Object>>> chunk = LongStream.range(start, Math.min(end, start + CHUNK)).parallel()
                    .mapToObj(i -> {
                        try {
                            List<Map<String, Object>> r = maker.rows(i);
                            progress.accept(1);
                            return r;
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }).toList();
            for (List<Map<String, Object>> item : chunk) {
                for (Map<String, Object> row : item) {
                    w.write(JSON.writeValueAsString(row));
                    w.newLine();
                    rows++;
                }
            }
        }
        return rows;
    }

    private List<Map<String, Object>> sceneRows(Request request, long index) throws IOException {
        SynthItem.SceneItem item = benchmark.scene(request.split(), index);
        String media = "images/" + item.id() + ".png";
        Files.write(request.out().resolve(media), SceneRenderer.png(item.scene()));
        return rows(request, item.questions(), media, "image", item.scene().seed(), GroundTruthJson.scene(item.scene()));
    }

    private List<Map<String, Object>> clipRows(Request request, long index) throws IOException {
        SynthItem.ClipItem item = benchmark.clip(request.split(), index);
        String media = "clips/" + item.id() + ".mp4";
        ClipEncoder.write(item.clip(), request.out().resolve(media));
        return rows(request, item.questions(), media, "clip", item.clip().seed(), GroundTruthJson.clip(item.clip()));
    }

    private static List<Map<String, Object>> rows(Request request, List<SynthQuestion> questions, String media,
                                                  String kind, long seed, Map<String, Object> truth) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (SynthQuestion q : questions) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("id", q.id());
            row.put("media", media);
            row.put("kind", kind);
            row.put("question", q.text());
            row.put("answer", q.answer());
            row.put("type", q.type().key());
            row.put("split", request.split().key());
            row.put("seed", seed);
            row.put("truth", truth);
            out.add(row);
        }
        return out;
    }
}
