package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One of the HF parity fixtures made by {@code tools/fixtures/make_fixtures.py}
 * ({@code fixtures/clip-vision}, {@code fixtures/siglip-vision}): the tiny random checkpoint, its
 * encoder on the CPU backend, and the arrays transformers computed ({@code expected.safetensors}).
 * The folder root is {@code ../fixtures} from the module, or the {@code glimpse.fixtures} property.
 */
final class VisionFixture implements AutoCloseable {

    final Path folder;
    final VisionConfig config;
    final Checkpoint checkpoint;
    final SafetensorsFile expected;
    final Backend backend = new CpuBackend();
    final VisionTransformer encoder;

    VisionFixture(String name) {
        Path root = Path.of(System.getProperty("glimpse.fixtures", "../fixtures"));
        folder = root.resolve(name);
        assertTrue(Files.isRegularFile(folder.resolve("expected.safetensors")),
                "fixture " + folder.toAbsolutePath() + " is missing: run tools/fixtures/make_fixtures.py");
        config = VisionConfig.load(folder.resolve("config.json"));
        checkpoint = Checkpoint.open(folder);
        expected = SafetensorsFile.open(folder.resolve("expected.safetensors"));
        encoder = VisionTransformer.load(backend, checkpoint, config);
    }

    Tensor expected(String name) {
        return expected.tensor(name);
    }

    Tensor pixels() {
        return expected("pixel_values");
    }

    /** Largest |a - b| over all elements; shapes must match. */
    static double maxAbsDiff(Tensor actual, Tensor expected) {
        assertArrayEquals(expected.shape(), actual.shape(), "shape of " + actual + " vs expected " + expected);
        float[] a = actual.toFloatArray();
        float[] e = expected.toFloatArray();
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs((double) a[i] - e[i]));
        }
        return max;
    }

    /** The per-head statistic [H, N] averaged over heads: [N]. */
    static Tensor headMean(Tensor perHead) {
        int heads = perHead.dim(0);
        int n = perHead.dim(1);
        float[] out = new float[n];
        for (int h = 0; h < heads; h++) {
            for (int j = 0; j < n; j++) {
                out[j] += perHead.get(h, j) / heads;
            }
        }
        return Tensor.of(out, n);
    }

    @Override
    public void close() {
        expected.close();
        checkpoint.close();
        backend.close();
    }
}
