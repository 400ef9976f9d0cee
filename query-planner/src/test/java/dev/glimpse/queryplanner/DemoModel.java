package dev.glimpse.queryplanner;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's shipped demo model and example clip, found from the working directory. */
final class DemoModel {

    private DemoModel() {
    }

    static Path repoRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("models").resolve("glimpse-demo"))) {
                return d;
            }
        }
        throw new IllegalStateException("no models/glimpse-demo at or above " + Path.of("").toAbsolutePath());
    }

    static Path folder() {
        return repoRoot().resolve("models").resolve("glimpse-demo");
    }

    static Path clip() {
        return repoRoot().resolve("examples").resolve("synth-clip-c20000002.mp4");
    }

    static Path scene() {
        return repoRoot().resolve("examples").resolve("synth-scene-s20000002.png");
    }
}
