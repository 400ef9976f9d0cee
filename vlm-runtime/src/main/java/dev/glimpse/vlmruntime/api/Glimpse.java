package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.vlmruntime.decoder.RuntimeSettings;
import dev.glimpse.vlmruntime.llava.LlavaModel;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Entry point of the Java API.
 *
 * <pre>{@code
 * try (VisionLanguageModel vlm = Glimpse.load(Path.of("models/llava-onevision-qwen2-0.5b-ov-hf"))) {
 *     Answer a = vlm.ask(Media.imageFile(Path.of("cat.jpg")), "What is in the picture?", AskOptions.defaults());
 *     System.out.println(a.text());
 * }
 * }</pre>
 */
public final class Glimpse {

    private Glimpse() {
    }

    /** Loads a LLaVA or LLaVA-OneVision checkpoint folder on the automatically chosen device. */
    public static VisionLanguageModel load(Path modelDir) {
        return load(modelDir, LoadOptions.defaults());
    }

    /**
     * Loads a LLaVA or LLaVA-OneVision checkpoint folder, after checking the runtime's {@code -D} settings
     * ({@link RuntimeSettings}).
     *
     * @throws ConfigException when the folder is missing or is not a supported checkpoint (the message says why)
     * @throws IllegalArgumentException or {@link dev.glimpse.kernels.cuda.CudaException} when a runtime setting has a
     *                                  value its parser rejects (the message names the property and the values it takes)
     */
    public static VisionLanguageModel load(Path modelDir, LoadOptions options) {
        RuntimeSettings.validate();
        if (!Files.isDirectory(modelDir)) {
            throw new ConfigException(modelDir + ": not a folder (pass a Hugging Face LLaVA checkpoint folder)");
        }
        if (!Files.isRegularFile(modelDir.resolve("config.json"))) {
            throw new ConfigException(modelDir + ": no config.json; not a Hugging Face checkpoint folder");
        }
        Backend backend = Backends.create(options.device());
        try {
            return new VisionLanguageModel(LlavaModel.load(modelDir, backend), backend, options);
        } catch (RuntimeException | Error e) {
            backend.close();
            throw e;
        }
    }
}
