import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.evalharness.synth.Clip;
import dev.glimpse.evalharness.synth.GroundTruthJson;
import dev.glimpse.evalharness.synth.SceneRenderer;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.evalharness.synth.SynthItem;
import dev.glimpse.evalharness.synth.SynthQuestion;

import java.awt.image.BufferedImage;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.LongStream;

/**
 * Training data for tools/train as raw pixels, straight from the synthetic benchmark's generator
 * (the single source of truth; nothing is re-implemented here). A PNG of a SynthScenes image takes
 * about 65 KB (its grain does not compress), too much to carry to the GPU machine, so this runs
 * there, on the bundled JRE, and writes uncompressed arrays that numpy maps directly:
 * <pre>
 * OUT/&lt;split&gt;-&lt;kind&gt;.u8     uint8 [count, frames, 224, 224, 3] (frames = 1 for images, 16 for clips)
 * OUT/&lt;split&gt;-&lt;kind&gt;.jsonl  one row per item, in item order: {"id", "seed", "truth" (GroundTruthJson),
 *                              "questions": [{"question", "answer", "type"}]}
 * </pre>
 * Images are exactly the pixels evaluation feeds (SceneRenderer.render). Clip frames are the frames
 * as drawn before H.264 compression: ClipEncoder's own composition (the background, then the
 * objects visible at that frame, via SceneRenderer's public methods), without FFmpeg, which the
 * bundle does not carry; evaluation decodes the lossy mp4, and validation in train_demo.py reads
 * exported mp4s to measure that gap.
 *
 * <p>Usage: {@code java -cp ... TrainingDataExport SPLIT images|clips FIRST COUNT OUT}
 */
public final class TrainingDataExport {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CHUNK = 512;

    public static void main(String[] args) throws IOException {
        if (args.length != 5 || !(args[1].equals("images") || args[1].equals("clips"))) {
            System.err.println("usage: TrainingDataExport SPLIT images|clips FIRST COUNT OUT");
            System.exit(2);
        }
        Split split = Split.ofKey(args[0]);
        boolean clips = args[1].equals("clips");
        long first = Long.parseLong(args[2]);
        long count = Long.parseLong(args[3]);
        Path out = Path.of(args[4]);
        Files.createDirectories(out);
        SynthBenchmark benchmark = SynthBenchmark.standard();
        String stem = split.key() + "-" + args[1];
        long t0 = System.nanoTime();
        try (FileChannel pixels = FileChannel.open(out.resolve(stem + ".u8"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
             BufferedWriter rows = Files.newBufferedWriter(out.resolve(stem + ".jsonl"), StandardCharsets.UTF_8)) {
            for (long start = first; start < first + count; start += CHUNK) {
                List<String> chunk = LongStream.range(start, Math.min(first + count, start + CHUNK)).parallel()
                        .mapToObj(i -> clips ? clip(benchmark.clip(split, i), pixels, i - first)
                                : scene(benchmark.scene(split, i), pixels, i - first))
                        .toList();
                for (String row : chunk) {
                    rows.write(row);
                    rows.newLine();
                }
            }
        }
        System.out.printf("exported %d %s %s to %s in %.1f s%n", count, split.key(), args[1], out,
                (System.nanoTime() - t0) / 1e9);
    }

    private static String scene(SynthItem.SceneItem item, FileChannel pixels, long slot) {
        byte[] rgb = SceneRenderer.render(item.scene()).pixels();
        write(pixels, ByteBuffer.wrap(rgb), slot * rgb.length);
        return row(item.id(), item.scene().seed(), GroundTruthJson.scene(item.scene()), item.questions());
    }

    private static String clip(SynthItem.ClipItem item, FileChannel pixels, long slot) {
        Clip clip = item.clip();
        int frameBytes = clip.width() * clip.height() * 3;
        ByteBuffer all = ByteBuffer.allocate(frameBytes * clip.frames());
        BufferedImage background = SceneRenderer.background(clip.background(), clip.width(), clip.height());
        for (int f = 0; f < clip.frames(); f++) {
            BufferedImage frame = SceneRenderer.copy(background);
            SceneRenderer.drawObjects(frame, clip.visibleAt(f));
            all.put(SceneRenderer.toRgb(frame).pixels());
        }
        write(pixels, all.flip(), slot * all.capacity());
        return row(item.id(), clip.seed(), GroundTruthJson.clip(clip), item.questions());
    }

    private static void write(FileChannel channel, ByteBuffer bytes, long position) {
        try {
            while (bytes.hasRemaining()) {
                position += channel.write(bytes, position);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String row(String id, long seed, Map<String, Object> truth, List<SynthQuestion> questions) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("id", id);
        row.put("seed", seed);
        row.put("truth", truth);
        List<Map<String, Object>> qs = new ArrayList<>();
        for (SynthQuestion q : questions) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("question", q.text());
            m.put("answer", q.answer());
            m.put("type", q.type().key());
            qs.add(m);
        }
        row.put("questions", qs);
        try {
            return JSON.writeValueAsString(row);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
