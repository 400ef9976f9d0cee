package dev.glimpse.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code glimpse frames}: PNGs and frames.json for good videos, one line on stderr for bad ones. */
class FramesCommandTest {

    @TempDir
    static Path dir;
    static Path video;

    /** A 3 s, 10 fps test pattern made by the ffmpeg executable bundled with the FFmpeg library. */
    @BeforeAll
    static void writeVideo() throws Exception {
        String ffmpeg = Loader.load(org.bytedeco.ffmpeg.ffmpeg.class);
        video = dir.resolve("clip.mp4");
        Process p = new ProcessBuilder(ffmpeg, "-v", "error", "-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=3",
                "-c:v", "mpeg4", "-q:v", "2", video.toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
    }



    @Test
    void writesPngsAndFramesJson() throws Exception {
        Path out = dir.resolve("out");
        CliRun run = CliRun.glimpse("frames", "--video", video.toString(), "--frames", "4", "--out", out.toString());
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(out.resolve("frames.json").toFile());
        assertEquals("uniform(4)", json.get("sampler").asText());
        assertEquals(30, json.get("info").get("frameCount").asLong());
        JsonNode frames = json.get("frames");
        assertEquals(4, frames.size());
        long[] indices = {0, 9, 19, 29};
        for (int i = 0; i < 4; i++) {
            JsonNode f = frames.get(i);
            assertEquals(indices[i], f.get("index").asLong());
            assertEquals(indices[i] / 10.0, f.get("timestamp").asDouble(), 0.1);
            assertEquals(String.format("frame_%04d.png", i), f.get("file").asText());
            BufferedImage png = ImageIO.read(out.resolve(f.get("file").asText()).toFile());
            assertEquals(64, png.getWidth());
            assertEquals(48, png.getHeight());
        }
    }

    @Test
    void samplerAndMaxSideAreApplied() throws Exception {
        Path out = dir.resolve("fps");
        CliRun run = CliRun.glimpse("frames", "--video", video.toString(), "--frames", "100", "--sampler", "fps:2",
                "--max-side", "32", "--out", out.toString());
        assertEquals(0, run.exit(), run.stderr());
        JsonNode json = new ObjectMapper().readTree(out.resolve("frames.json").toFile());
        assertEquals("fps(2, max 100)", json.get("sampler").asText());
        assertEquals(6, json.get("frames").size());
        assertEquals(32, ImageIO.read(out.resolve("frame_0000.png").toFile()).getWidth());
    }

    @Test
    void missingVideoIsOneLineAndExitOne() {
        CliRun run = CliRun.glimpse("frames", "--video", dir.resolve("nope.mp4").toString(), "--out", dir.resolve("x").toString());
        assertEquals(1, run.exit());
        assertEquals("glimpse: " + dir.resolve("nope.mp4") + ": no such file", run.stderr().strip());
    }

    @Test
    void garbageVideoIsOneLineAndExitOne() throws Exception {
        byte[] junk = new byte[50_000];
        new Random(1).nextBytes(junk);
        Path garbage = Files.write(dir.resolve("junk.mp4"), junk);
        CliRun run = CliRun.glimpse("frames", "--video", garbage.toString(), "--out", dir.resolve("y").toString());
        assertEquals(1, run.exit());
        assertEquals(1, run.stderr().strip().lines().count(), run.stderr());
        assertTrue(run.stderr().startsWith("glimpse: " + garbage + ": not a readable video"), run.stderr());
    }

    @Test
    void limitErrorNamesTheFlag() {
        CliRun run = CliRun.glimpse("frames", "--video", video.toString(), "--frames", "16", "--max-frames", "8",
                "--out", dir.resolve("z").toString());
        assertEquals(1, run.exit());
        assertEquals("glimpse: " + video + ": number of requested frames 16 exceeds the limit of 8 (raise it with --max-frames)",
                run.stderr().strip());
    }

    @Test
    void unknownSamplerIsOneLine() {
        CliRun run = CliRun.glimpse("frames", "--video", video.toString(), "--sampler", "random", "--out", dir.resolve("w").toString());
        assertEquals(1, run.exit());
        assertTrue(run.stderr().strip().startsWith("glimpse: unknown sampler 'random'"), run.stderr());
    }
}
