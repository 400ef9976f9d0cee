package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code glimpse ask --budget N/video}: split over a video's frames; refused for an image. */
class VideoBudgetCommandTest {

    @TempDir
    static Path dir;
    static Path model;
    static Path video;

    @BeforeAll
    static void setUp() throws Exception {
        model = CliRun.fixture("llava-clip-llama");
        String ffmpeg = Loader.load(org.bytedeco.ffmpeg.ffmpeg.class);
        video = dir.resolve("t.mp4");
        Process p = new ProcessBuilder(ffmpeg, "-v", "error", "-f", "lavfi", "-i",
                "testsrc=size=64x48:rate=10:duration=2", "-c:v", "mpeg4", video.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
    }

    @Test
    void videoTotalIsSplitAcrossTheFrames() throws Exception {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--video", video.toString(), "--frames", "4",
                "--prune", "vtc-cls", "--budget", "30/video", "--max-new-tokens", "1", "--json", "--trace", "q");
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(run.stdout());
        assertEquals(64, json.at("/tokens/visual/projector/in").asInt(), run.stdout());
        assertEquals(30, json.at("/tokens/visual/projector/kept").asInt(), run.stdout());
        JsonNode frames = json.at("/trace/stages/0/frames");
        assertEquals(4, frames.size(), run.stdout());
        int[] expected = {8, 8, 7, 7};
        for (int t = 0; t < 4; t++) {
            assertEquals(expected[t], frames.get(t).get("budget").asInt(), run.stdout());
            assertEquals(expected[t], frames.get(t).get("kept").size(), run.stdout());
        }
    }

    @Test
    void videoTotalOnAnImageIsRefused() {
        CliRun run = CliRun.glimpse("ask", "--model", model.toString(), "--image",
                model.resolve("shapes_45x61.png").toString(), "--prune", "vtc-cls", "--budget", "32/video", "q");
        run.assertOneLineError("32/video is a total for a video");
    }
}
