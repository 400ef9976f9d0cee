package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The processor-level settings of {@code LlavaProcessor} / {@code LlavaOnevisionProcessor}
 * ({@code processing_llava.py}, {@code processing_llava_onevision.py}) that decide how many
 * placeholder tokens each image or video becomes, read from the top level of
 * {@code processor_config.json}.
 *
 * <p>Where the file or a key is missing, the value is the one the model itself produces, so that
 * placeholders and features agree: {@code patch_size} = the vision tower's,
 * {@code num_additional_image_tokens} = 1 for a tower with a [CLS] token (CLIP) else 0,
 * {@code vision_feature_select_strategy} and {@code vision_aspect_ratio} = config.json's,
 * {@code num_image_tokens} = {@code (image_size / patch_size)^2}. Placeholder strings default to
 * {@code <image>} and {@code <video>} as in both processors.
 *
 * @param numImageTokens    OneVision: tokens of one base image (before the newline)
 * @param visionAspectRatio OneVision: {@code anyres_max_N}
 */
public record LlavaProcessorConfig(String imageToken, String videoToken, int patchSize, int numAdditionalImageTokens,
                                   String visionFeatureSelectStrategy, int numImageTokens, String visionAspectRatio) {

    public static final String FILE = "processor_config.json";
    private static final Logger LOG = LoggerFactory.getLogger(LlavaProcessorConfig.class);

    /** Reads {@code folder/processor_config.json}, defaulting from {@code model} as described above. */
    public static LlavaProcessorConfig load(Path folder, LlavaConfig model) {
        int patch = model.vision().patchSize();
        int side = model.vision().imageSize() / patch;
        LlavaProcessorConfig defaults = new LlavaProcessorConfig("<image>", "<video>", patch,
                model.vision().hasClassToken() ? 1 : 0, model.visionFeatureSelectStrategy(), side * side,
                model.visionAspectRatio().orElse("anyres_max_9"));
        Path file = folder.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            LOG.warn("{}: not found; placeholder counts follow config.json ({})", file, defaults);
            return defaults;
        }
        HfJson json = HfJson.read(file);
        return new LlavaProcessorConfig(
                json.stringOr("image_token", defaults.imageToken()),
                json.stringOr("video_token", defaults.videoToken()),
                json.intOr("patch_size", defaults.patchSize()),
                json.intOr("num_additional_image_tokens", defaults.numAdditionalImageTokens()),
                json.stringOr("vision_feature_select_strategy", defaults.visionFeatureSelectStrategy()),
                json.intOr("num_image_tokens", defaults.numImageTokens()),
                json.stringOr("vision_aspect_ratio", defaults.visionAspectRatio()));
    }

    /** {@code N} of {@code anyres_max_N}, as HF's {@code int(vision_aspect_ratio.strip("anyres_max_"))}. */
    public int maxNumPatches() {
        return parseMaxPatches(visionAspectRatio);
    }

    static int parseMaxPatches(String aspectRatio) {
        String digits = aspectRatio.startsWith("anyres_max_") ? aspectRatio.substring("anyres_max_".length()) : "";
        try {
            return Integer.parseInt(digits);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("vision_aspect_ratio '" + aspectRatio
                    + "' is not supported; Glimpse reads anyres_max_N as LLaVA-OneVision does");
        }
    }

    boolean dropsFirstToken() {
        return visionFeatureSelectStrategy.equals("default");
    }
}
