package dev.glimpse.kernels.cuda.timeline;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Recorded passes on disk, in the Chrome trace-event format, so that the file opens as a timeline
 * in Perfetto ({@code ui.perfetto.dev}) or {@code chrome://tracing}: one process per pass (named
 * after it), one complete event ({@code "ph":"X"}, microseconds from the first pass's start) per
 * kernel on its stream's thread, the launch shape and the exact nanoseconds in the event's
 * {@code args}. The host marks of each pass are kept under the top-level key {@code "glimpse"},
 * which trace viewers ignore, so that {@link #read} gives back the same {@link PassTimeline}s.
 */
public final class TimelineFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private TimelineFile() {
    }

    /** Writes {@code passes} to {@code file} (replacing it). */
    public static void write(Path file, List<PassTimeline> passes) throws IOException {
        long origin = passes.stream().mapToLong(PassTimeline::hostStartNs).min().orElse(0);
        ObjectNode root = JSON.createObjectNode();
        ArrayNode events = root.putArray("traceEvents");
        ArrayNode marks = root.putObject("glimpse").putArray("passes");
        for (int p = 0; p < passes.size(); p++) {
            PassTimeline pass = passes.get(p);
            marks.addObject().put("pass", pass.pass()).put("pid", p).put("host_start_ns", pass.hostStartNs())
                    .put("host_end_ns", pass.hostEndNs());
            ObjectNode name = events.addObject().put("name", "process_name").put("ph", "M").put("pid", p);
            name.putObject("args").put("name", pass.pass());
            for (KernelRecord k : pass.kernels()) {
                ObjectNode e = events.addObject().put("name", k.name()).put("cat", "kernel").put("ph", "X")
                        .put("pid", p).put("tid", k.streamId()).put("ts", (k.startNs() - origin) / 1e3)
                        .put("dur", k.durationNs() / 1e3);
                ObjectNode args = e.putObject("args");
                args.putArray("grid").add(k.gridX()).add(k.gridY()).add(k.gridZ());
                args.putArray("block").add(k.blockX()).add(k.blockY()).add(k.blockZ());
                args.put("start_ns", k.startNs()).put("end_ns", k.endNs()).put("graph", k.graphId())
                        .put("correlation", k.correlationId());
            }
        }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        JSON.writeValue(file.toFile(), root);
    }

    /**
     * The passes written to {@code file} by {@link #write}.
     *
     * @throws IOException when the file cannot be read or holds no {@code "glimpse"} pass marks
     */
    public static List<PassTimeline> read(Path file) throws IOException {
        JsonNode root = JSON.readTree(file.toFile());
        JsonNode marks = root.path("glimpse").path("passes");
        if (!marks.isArray()) {
            throw new IOException(file + " is not a Glimpse kernel timeline (no \"glimpse\".\"passes\"); "
                    + "write one with -Dglimpse.cuda.timeline or CudaLlavaBench --timeline");
        }
        List<List<KernelRecord>> kernels = new ArrayList<>();
        for (int p = 0; p < marks.size(); p++) {
            kernels.add(new ArrayList<>());
        }
        for (JsonNode e : root.path("traceEvents")) {
            if (!"X".equals(e.path("ph").asText()) || !"kernel".equals(e.path("cat").asText())) {
                continue;
            }
            int pid = e.path("pid").asInt(-1);
            if (pid < 0 || pid >= kernels.size()) {
                throw new IOException(file + ": kernel event of unknown pass " + pid);
            }
            JsonNode a = e.path("args");
            JsonNode grid = a.path("grid");
            JsonNode block = a.path("block");
            kernels.get(pid).add(new KernelRecord(e.path("name").asText(), grid.path(0).asInt(), grid.path(1).asInt(),
                    grid.path(2).asInt(), block.path(0).asInt(), block.path(1).asInt(), block.path(2).asInt(),
                    a.path("start_ns").asLong(), a.path("end_ns").asLong(), e.path("tid").asInt(), a.path("graph").asInt(),
                    a.path("correlation").asInt()));
        }
        List<PassTimeline> passes = new ArrayList<>();
        for (int p = 0; p < marks.size(); p++) {
            JsonNode m = marks.get(p);
            passes.add(new PassTimeline(m.path("pass").asText(), m.path("host_start_ns").asLong(),
                    m.path("host_end_ns").asLong(), kernels.get(m.path("pid").asInt(p))));
        }
        return passes;
    }
}
