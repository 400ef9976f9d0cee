package dev.glimpse.vlmruntime.api;

import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.bytedeco.javacpp.Loader;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The llava-onevision-qwen2 fixture's four video frames, encoded losslessly (PNG in .mov) with the bundled ffmpeg. */
final class FixtureVideo {

    private FixtureVideo() {
    }

    /** Writes {@code frames.mov} into {@code dir} and returns its path. */
    static Path encode(Path dir) throws Exception {
        Path frames = DecoderFixture.folder("llava-onevision-qwen2");
        String ffmpeg = Loader.load(org.bytedeco.ffmpeg.ffmpeg.class);
        Path video = dir.resolve("frames.mov");
        Process p = new ProcessBuilder(ffmpeg, "-v", "error", "-framerate", "4", "-i",
                frames.resolve("video_frame_%d.png").toString(), "-c:v", "png", video.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
        return video;
    }
}
