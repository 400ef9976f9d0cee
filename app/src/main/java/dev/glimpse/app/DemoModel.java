package dev.glimpse.app;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The default {@code --model}: the demo model shipped in the repository ({@code models/glimpse-demo},
 * a small LLaVA trained on the synthetic benchmark by tools/train), found under the install folder
 * the launcher passes as {@code -Dglimpse.home}.
 */
public final class DemoModel {

    static final String RELATIVE_PATH = "models/glimpse-demo";

    private DemoModel() {
    }

    /** {@code model} when given, else the shipped demo model; a clear error when neither exists. */
    public static Path orDefault(Path model) {
        if (model != null) {
            return model;
        }
        String home = System.getProperty("glimpse.home");
        Path demo = (home == null ? Path.of("") : Path.of(home)).resolve(RELATIVE_PATH).toAbsolutePath().normalize();
        if (!Files.isRegularFile(demo.resolve("config.json"))) {
            throw new IllegalArgumentException("no model: the demo model is not at " + demo
                    + "; pass --model DIR (a Hugging Face LLaVA or LLaVA-OneVision checkpoint folder)");
        }
        return demo;
    }
}
