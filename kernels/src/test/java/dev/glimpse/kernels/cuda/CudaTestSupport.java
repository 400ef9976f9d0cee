package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Shared set-up of the GPU tests: one {@link CudaBackend} for the whole run (skipped, with the
 * reason, where no GPU or library is found), the CPU reference, random inputs, their rounded
 * copies, the comparisons, a graph replay and system properties set for one call.
 *
 * <p>Tolerances, as the largest |gpu - cpu| divided by max(1, max |cpu|):
 * <ul>
 *   <li>{@link #F32}: 2e-5. F32 kernels differ from the CPU only in summation order and in
 *       the last ulp of expf/erff/tanhf.</li>
 *   <li>{@link #GEMM_F32}: 1e-4 for products with k up to a few thousand (summation order).</li>
 *   <li>{@link #GEMM_F16}: 2e-3 and {@link #GEMM_BF16}: 1e-2 for half-precision weights with more
 *       than 8 rows, where activations are rounded to the weight dtype for the tensor cores
 *       (2^-11 and 2^-8 relative per element). With at most 8 rows the GEMV kernel keeps F32
 *       activations and meets {@link #GEMM_F32}.</li>
 *   <li>{@link #ROUNDED_X}: 1e-3 for a half-precision GEMM whose CPU reference saw x already
 *       rounded to the weights' dtype ({@link #rounded}): only the summation order differs.</li>
 *   <li>Top-k: exact (indices and values identical).</li>
 * </ul>
 * Each comparison prints one {@code PARITY} line with the measured error, which
 * {@code tools/device/gpu-test.sh} collects into its summary.
 */
final class CudaTestSupport {

    static final double F32 = 2e-5;
    static final double GEMM_F32 = 1e-4;
    static final double GEMM_F16 = 2e-3;
    static final double GEMM_BF16 = 1e-2;
    /** Normalised error of a GEMM whose CPU reference saw the same rounded x: summation order only. */
    static final double ROUNDED_X = 1e-3;

    static final CpuBackend CPU = new CpuBackend();

    private static CudaBackend backend;
    private static String unavailable;

    private CudaTestSupport() {
    }

    /**
     * The shared CUDA backend; skips the calling test (assumption) where CUDA is unavailable. Its
     * cuBLASLt choices persist in a fresh temporary file unless {@value LtChoiceStore#PROPERTY} is
     * set, so measurements happen where the tests expect them whatever earlier runs stored.
     */
    static synchronized CudaBackend cuda() {
        if (backend == null && unavailable == null) {
            String cache = System.getProperty(LtChoiceStore.PROPERTY);
            try {
                if (cache == null) { // each test run starts with no stored cuBLASLt choice, as its assertions expect
                    System.setProperty(LtChoiceStore.PROPERTY,
                            Files.createTempDirectory("glimpse-lt-").resolve("choices.json").toString());
                }
                backend = CudaBackend.open(new CudaOptions(0, 0));
            } catch (Backends.UnavailableException e) {
                unavailable = e.getMessage();
            } catch (IOException e) {
                throw new UncheckedIOException("no temporary directory for the cuBLASLt choice cache", e);
            } finally {
                if (cache == null) {
                    System.clearProperty(LtChoiceStore.PROPERTY);
                }
            }
        }
        Assumptions.assumeTrue(backend != null, () -> "no GPU: CUDA tests skipped (" + unavailable + ")");
        return backend;
    }

    /** A host tensor of dtype with N(0, scale^2) values. */
    static Tensor random(long seed, float scale, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(dtype, shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (gaussian(r) * scale);
        }
        t.copyFrom(v);
        return t;
    }

    static Tensor random(long seed, int... shape) {
        return random(seed, 1f, DType.F32, shape);
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(1e-12, 1.0);
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** Asserts gpu (a device or host tensor) matches the CPU reference within tol; prints the error. */
    static double assertClose(String label, Tensor cpu, Tensor gpu, double tol) {
        float[] expected = cpu.toFloatArray();
        float[] actual;
        try (Tensor host = cuda().download(gpu)) {
            actual = host.toFloatArray();
        }
        assertTrue(expected.length == actual.length, label + ": sizes differ");
        double maxRef = 0;
        double maxErr = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
            double e = Math.abs((double) expected[i] - actual[i]);
            if (Float.isNaN(expected[i]) != Float.isNaN(actual[i])) {
                e = Double.POSITIVE_INFINITY;
            } else if (Float.isNaN(expected[i])) {
                e = 0;
            }
            if (e > maxErr) {
                maxErr = e;
                worst = i;
            }
        }
        double normalized = maxErr / Math.max(1.0, maxRef);
        System.out.println(String.format(Locale.ROOT, "PARITY %-48s maxAbsErr=%.3e normErr=%.3e tol=%.1e", label, maxErr, normalized, tol));
        int w = worst;
        double finalNormalized = normalized;
        assertTrue(normalized <= tol, () -> label + ": error " + finalNormalized + " > " + tol + " (worst at " + w
                + ": cpu " + (expected.length > 0 ? expected[w] : 0) + " gpu " + (actual.length > 0 ? actual[w] : 0) + ")");
        return normalized;
    }

    /** Asserts two tensors (device or host) hold the same values, bit for bit. */
    static void assertBitsEqual(String label, Tensor expected, Tensor actual) {
        CudaBackend gpu = cuda();
        try (Tensor e = gpu.download(expected); Tensor a = gpu.download(actual)) {
            assertArrayEquals(e.toFloatArray(), a.toFloatArray(), label);
        }
    }

    /** The values of a device tensor, downloaded. */
    static float[] host(Tensor device) {
        try (Tensor h = cuda().download(device)) {
            return h.toFloatArray();
        }
    }

    /** Captures body into a graph on the shared backend, launches the graph once and waits for it. */
    static void runFromGraph(Runnable body) {
        CudaBackend gpu = cuda();
        try (StepGraph graph = gpu.capture(body)) {
            gpu.launch(graph);
            gpu.synchronize();
        }
    }

    /** A host copy of t in dtype (rounded to nearest even when narrower). */
    static Tensor converted(Tensor t, DType dtype) {
        Tensor c = Tensor.allocate(dtype, t.shape());
        t.copyElementsTo(c);
        return c;
    }

    /** A host F32 copy of t rounded through dtype: the x a GEMM with dtype weights multiplies. */
    static Tensor rounded(Tensor t, DType dtype) {
        try (Tensor narrow = converted(t, dtype)) {
            return converted(narrow, DType.F32);
        }
    }

    /** Runs body with the system property key set to value, then restores its previous value (or its absence). */
    static void withProperty(String key, String value, Runnable body) {
        withProperties(Map.of(key, value), () -> {
            body.run();
            return null;
        });
    }

    /** body's result with each system property of values set, then each restored to its previous value (or its absence). */
    static <T> T withProperties(Map<String, String> values, Supplier<T> body) {
        Map<String, String> previous = new HashMap<>();
        values.keySet().forEach(key -> previous.put(key, System.getProperty(key)));
        values.forEach(System::setProperty);
        try {
            return body.get();
        } finally {
            previous.forEach(CudaTestSupport::restore);
        }
    }

    /** Sets {@code property} back to {@code value}, or clears it where {@code value} is null (it was unset). */
    static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }

    /** Host caches [Hkv, capacity, D] holding rows [S, Hkv, D] as entries 0..S-1, NaN past them (never read). */
    static Tensor headMajorCache(Tensor rows, int capacity) {
        int s = rows.dim(0);
        int hkv = rows.dim(1);
        int d = rows.dim(2);
        float[] src = rows.toFloatArray();
        float[] cache = new float[hkv * capacity * d];
        Arrays.fill(cache, Float.NaN);
        for (int j = 0; j < s; j++) {
            for (int h = 0; h < hkv; h++) {
                System.arraycopy(src, (j * hkv + h) * d, cache, (h * capacity + j) * d, d);
            }
        }
        return Tensor.of(cache, hkv, capacity, d);
    }

    /**
     * A host cache [Hkv, capacity, D] of dtype holding rows [S, Hkv, D] (rounded) as entries 0..S-1, NaN after:
     * {@link #headMajorCache(Tensor, int)} itself for F32.
     */
    static Tensor headMajorCache(Tensor rows, int capacity, DType dtype) {
        Tensor f32 = headMajorCache(rows, capacity);
        if (dtype == DType.F32) {
            return f32;
        }
        try (f32) {
            Tensor c = Tensor.allocate(dtype, f32.shape());
            c.copyFrom(f32.toFloatArray());
            return c;
        }
    }

    /** The first keys entries of a cache [Hkv, capacity, D] (host or device) as the [keys, Hkv, D] view attention reads. */
    static Tensor cacheEntries(Tensor cache, int keys) {
        return cache.slice(1, 0, keys).transpose(0, 1);
    }
}
