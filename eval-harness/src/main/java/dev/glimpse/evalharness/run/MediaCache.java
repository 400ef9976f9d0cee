package dev.glimpse.evalharness.run;

import dev.glimpse.evalharness.synth.Clip;
import dev.glimpse.evalharness.synth.ClipEncoder;
import dev.glimpse.evalharness.synth.SceneRenderer;
import dev.glimpse.evalharness.synth.SynthItem;
import dev.glimpse.vlmruntime.api.Media;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Benchmark media for evaluation: scenes render in memory (the exact pixels an exported PNG
 * holds); clips are encoded once into {@code dir/clips-WxH-Nf-Ffps/<id>.mp4} and reused by later
 * configurations and runs, and are read back through the runtime's video decoding, sampling
 * {@code frames} frames (0: all of the clip's frames).
 *
 * @param dir    cache folder
 * @param frames frames to sample from each clip, 0 for all
 */
public record MediaCache(Path dir, int frames) {

    public MediaCache {
        if (frames < 0) {
            throw new IllegalArgumentException("--frames must be >= 0 (0: every frame of the clip), got " + frames);
        }
    }

    /** The media of {@code item}, encoding its clip first if the cache lacks it. */
    public Media media(SynthItem item) throws IOException {
        return switch (item) {
            case SynthItem.SceneItem s -> Media.image(SceneRenderer.render(s.scene()));
            case SynthItem.ClipItem c -> Media.video(clipFile(c.clip()), frames == 0 ? c.clip().frames() : frames);
        };
    }

    /** Where {@code clip} is cached, written if missing. */
    public Path clipFile(Clip clip) throws IOException {
        Path file = dir.resolve(String.format(Locale.ROOT, "clips-%dx%d-%df-%sfps", clip.width(), clip.height(),
                clip.frames(), clip.fps() == Math.rint(clip.fps()) ? Long.toString((long) clip.fps())
                        : Double.toString(clip.fps()))).resolve(clip.id() + ".mp4");
        if (!Files.isRegularFile(file)) {
            ClipEncoder.write(clip, file);
        }
        return file;
    }
}
