package dev.glimpse.visionencoder.preprocess;

import java.util.Optional;

/**
 * The PIL resampling filters that {@link PillowResize} reproduces, with their PIL enum codes
 * (the {@code resample} value of a preprocessor config) and kernels exactly as Pillow's
 * {@code libImaging/Resample.c} defines them.
 */
public enum ResampleFilter {

    /** {@code PIL.Image.Resampling.BILINEAR} (2): triangle kernel, support 1. */
    BILINEAR(2, 1.0) {
        @Override
        double kernel(double x) {
            if (x < 0.0) {
                x = -x;
            }
            return x < 1.0 ? 1.0 - x : 0.0;
        }
    },

    /** {@code PIL.Image.Resampling.BICUBIC} (3): Keys cubic convolution with a = -0.5, support 2. */
    BICUBIC(3, 2.0) {
        @Override
        double kernel(double x) {
            if (x < 0.0) {
                x = -x;
            }
            if (x < 1.0) {
                return ((1.5 * x - 2.5) * x) * x + 1;
            }
            if (x < 2.0) {
                return ((((x - 5) * x + 8) * x) - 4) * -0.5;
            }
            return 0.0;
        }
    };

    private final int pilCode;
    private final double support;

    ResampleFilter(int pilCode, double support) {
        this.pilCode = pilCode;
        this.support = support;
    }

    /** The {@code PIL.Image.Resampling} value. */
    public int pilCode() {
        return pilCode;
    }

    /** Half-width of the kernel at scale 1. */
    double support() {
        return support;
    }

    /** The kernel weight at distance {@code x} (in source pixels at scale 1). */
    abstract double kernel(double x);

    /** The filter with PIL code {@code code}, or empty when Glimpse does not implement it. */
    public static Optional<ResampleFilter> fromPilCode(int code) {
        for (ResampleFilter f : values()) {
            if (f.pilCode == code) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** PIL's name for {@code code} (e.g. LANCZOS for 1), for error messages. */
    public static String pilName(int code) {
        return switch (code) {
            case 0 -> "NEAREST";
            case 1 -> "LANCZOS";
            case 2 -> "BILINEAR";
            case 3 -> "BICUBIC";
            case 4 -> "BOX";
            case 5 -> "HAMMING";
            default -> "not a PIL filter";
        };
    }
}
