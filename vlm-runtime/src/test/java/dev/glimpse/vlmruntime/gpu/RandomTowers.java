package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.util.Locale;
import java.util.OptionalInt;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The small random towers the vision GPU A/B tests run (CudaVisionEpiloguesTest, CudaVisionLayoutTest):
 * a 3-layer SigLIP or CLIP config, Gaussian pixels, the third call's features (eager, capture,
 * replay) with a switch set, and the normalised max-error check that prints a PARITY line.
 */
final class RandomTowers {

    private RandomTowers() {
    }

    /** A 3-layer, 128-wide tower of {@code family} ("clip" or "siglip") over 56-pixel images, patch 14. */
    static VisionConfig config(String family) {
        return family.equals("clip")
                ? new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 56, 14, "quick_gelu", 1e-5, OptionalInt.of(64), false)
                : new VisionConfig(VisionConfig.SIGLIP, 128, 512, 3, 2, 3, 56, 14, "gelu_pytorch_tanh", 1e-6,
                OptionalInt.empty(), false);
    }

    /** [batch, 3, size, size] standard normal pixels, seed 11. */
    static Tensor pixels(int batch, VisionConfig config) {
        Random random = new Random(11);
        int size = config.imageSize();
        float[] v = new float[batch * 3 * size * size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.of(v, batch, 3, size, size);
    }

    /**
     * The stacked features of the third call (eager, capture, replay) of {@code tower}, which it
     * closes, with system property {@code property} set to {@code value}.
     */
    static float[] thirdCallFeatures(CudaBackend gpu, VisionTransformer tower, Tensor pixels, VisionRequest request,
                                     String property, String value) {
        System.setProperty(property, value);
        try (tower) {
            tower.encode(pixels, request).close();
            tower.encode(pixels, request).close();
            try (VisionOutput out = tower.encode(pixels, request); Tensor host = gpu.download(out.stackedFeatures())) {
                return host.toFloatArray();
            }
        }
    }

    /** Max |expected - actual| over max(1, max |expected|) at most {@code tol}; NaN counts as infinite. */
    static void assertNear(String label, float[] expected, float[] actual, double tol) {
        assertTrue(expected.length == actual.length, label + ": sizes differ");
        double maxRef = 0;
        double maxErr = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            maxErr = Math.max(maxErr, Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : Math.abs(expected[i] - actual[i]));
        }
        double normalized = maxErr / Math.max(1.0, maxRef);
        System.out.println(String.format(Locale.ROOT, "PARITY %-48s maxAbsErr=%.3e normErr=%.3e tol=%.1e", label, maxErr,
                normalized, tol));
        assertTrue(normalized <= tol, label + ": normalised error " + normalized + " > " + tol);
    }
}
