package dev.glimpse.kernels.cuda.timeline;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TimelineFileTest {

    @TempDir
    Path dir;

    @Test
    void readsBackThePassesItWrote() throws IOException {
        List<PassTimeline> passes = List.of(
                new PassTimeline("tower", 5_000, 9_000, List.of(
                        new KernelRecord("_ZN7cutlass6KernelI4TypeEEvT_", 2, 8, 1, 384, 1, 1, 5_100, 5_900, 13, 4, 77),
                        new KernelRecord("layer_norm_rows", 577, 1, 1, 256, 1, 1, 6_000, 6_050, 13, 4, 77))),
                new PassTimeline("decode step", 20_000, 21_000, List.of()));
        Path file = dir.resolve("sub/timeline.json");
        TimelineFile.write(file, passes);
        assertEquals(passes, TimelineFile.read(file));
    }

    @Test
    void kernelsAreTraceEventsOnePerPassProcess() throws IOException {
        Path file = dir.resolve("t.json");
        TimelineFile.write(file, List.of(new PassTimeline("prefill 74 rows", 1_000, 2_000, List.of(
                new KernelRecord("rms_norm_rows_v4_4", 74, 1, 1, 256, 1, 1, 1_500, 1_504, 13, 0, 9)))));
        String text = Files.readString(file);
        assertTrue(text.contains("\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"prefill 74 rows\"}"), text);
        assertTrue(text.contains("\"name\":\"rms_norm_rows_v4_4\",\"cat\":\"kernel\",\"ph\":\"X\",\"pid\":0,\"tid\":13,"
                + "\"ts\":0.5,\"dur\":0.004"), text);
    }

    @Test
    void aFileWithoutPassMarksIsRefusedNamingIt() throws IOException {
        Path file = dir.resolve("other.json");
        Files.writeString(file, "{\"traceEvents\":[]}");
        IOException e = assertThrows(IOException.class, () -> TimelineFile.read(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }
}
