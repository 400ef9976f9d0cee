package dev.glimpse.visionencoder.preprocess;

import java.util.List;

/**
 * The transformers image processor classes Glimpse reproduces, named as configs name them in
 * {@code image_processor_type} (transformers 5.x also accepts the {@code Pil} and, from 4.x,
 * {@code Fast} suffixed names: they read the same keys and defaults).
 */
public enum ImageProcessorType {

    /** {@code CLIPImageProcessor} (LLaVA-1.5's processor). */
    CLIP("CLIPImageProcessor"),
    /** {@code SiglipImageProcessor}. */
    SIGLIP("SiglipImageProcessor"),
    /** {@code LlavaOnevisionImageProcessor} (anyres tiling). */
    LLAVA_ONEVISION("LlavaOnevisionImageProcessor");

    /** {@code OPENAI_CLIP_MEAN} in transformers' {@code image_utils}. */
    static final List<Double> OPENAI_CLIP_MEAN = List.of(0.48145466, 0.4578275, 0.40821073);
    /** {@code OPENAI_CLIP_STD}. */
    static final List<Double> OPENAI_CLIP_STD = List.of(0.26862954, 0.26130258, 0.27577711);
    /** {@code IMAGENET_STANDARD_MEAN} and {@code IMAGENET_STANDARD_STD}. */
    static final List<Double> IMAGENET_STANDARD = List.of(0.5, 0.5, 0.5);

    private final String className;

    ImageProcessorType(String className) {
        this.className = className;
    }

    /** The transformers class name (torchvision-backed in 5.x; the PIL twin adds {@code Pil}). */
    public String className() {
        return className;
    }

    /** The type whose class is {@code name}, ignoring a {@code Pil} or {@code Fast} suffix; null if none. */
    static ImageProcessorType fromClassName(String name) {
        String base = name.endsWith("Pil") ? name.substring(0, name.length() - 3)
                : name.endsWith("Fast") ? name.substring(0, name.length() - 4) : name;
        for (ImageProcessorType t : values()) {
            if (t.className.equals(base)) {
                return t;
            }
        }
        return null;
    }
}
