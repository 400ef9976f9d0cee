package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;
import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.rounded;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only: {@link CudaBackend#linearActivation} under {@code -Dglimpse.cuda.towerMlp16=true}
 * ({@link CudaBackend#towerMlp16Enabled}). The in-place kernels ({@code activation_bf16_v8},
 * {@code activation_f16_v8}) store, for every activation without a cuBLASLt epilogue, the bits
 * {@code activation_f32} stores from the widened 16-bit values (fed through an identity product, which cuBLASLt
 * computes exactly), and stay within a 16-bit rounding of the CPU's activation (whose exp is not CUDA's); fc1 + quick_gelu
 * lands on a reference that rounds the product to 16 bits first (HF's bf16 {@code CLIPMLP}) far more often
 * than today's F32 path does; where the path does not apply (gelu_tanh, an F32 out, GEMV rows) the bits of
 * the property off stay.
 */
class CudaTowerMlp16Test {

    @ParameterizedTest(name = "{0} {1} rows={2} width={3}")
    @CsvSource({"BF16, QUICK_GELU, 577, 512", "F16, QUICK_GELU, 577, 512", "BF16, GELU_ERF, 64, 256",
            "BF16, SILU, 64, 256", "F16, RELU, 64, 256", "F16, QUICK_GELU, 9, 8"})
    void inPlaceKernelWritesTheScalarKernelsBitsOfTheWidenedValues(String type, Activation f, int rows, int width) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        String label = "activation in place " + f + " " + type + " " + rows + "x" + width;
        try (Tensor x = random(61, 3f, half, rows, width); Tensor eye = identity(half, width); Tensor gx = gpu.upload(x);
             Tensor gEye = gpu.upload(eye); Tensor widened = gpu.allocate(DType.F32, rows, width);
             Tensor scalar = gpu.allocate(half, rows, width); Tensor inPlace = gpu.allocate(half, rows, width);
             Tensor xF32 = rounded(x, half); Tensor expected = Tensor.allocate(half, rows, width)) {
            withMlp16("false", () -> {
                gpu.copy(gx, widened);
                gpu.activation(f, widened, scalar);
            });
            withMlp16("true", () -> gpu.linearActivation(f, gx, gEye, null, inPlace));
            assertBitsEqual(label + ": in place vs activation_f32 of the widened values", scalar, inPlace);
            CPU.activation(f, xF32, expected);
            assertClose(label + " vs CPU", expected, inPlace, half == DType.BF16 ? 1e-2 : 2e-3);
        }
    }

    /**
     * CLIP's fc1 + quick_gelu, bias in the weights' dtype as the tower keeps it: the property's output differs
     * from the reference that rounds the product first in at most a tenth of the elements today's path differs
     * in (only where the F32 sums of two GEMM algorithms straddle a rounding boundary).
     */
    @ParameterizedTest(name = "{0} rows={1} x {2}")
    @CsvSource({"BF16, 577, F32", "BF16, 577, BF16", "F16, 577, F16", "BF16, 1154, BF16", "BF16, 16, BF16"})
    void quickGeluAfterTheRoundedProductTracksTheHfRounding(String type, int rows, String xType) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        int in = 256;
        int out = 1024;
        String label = "fc1 + quick_gelu " + type + " rows=" + rows + " x " + xType;
        try (Tensor x = random(71, 1f, DType.valueOf(xType), rows, in); Tensor w = random(72, 0.06f, half, out, in);
             Tensor b = random(73, 0.1f, half, out); Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor gb = gpu.upload(b); Tensor pre = gpu.allocate(DType.F32, rows, out);
             Tensor preRounded = gpu.allocate(half, rows, out); Tensor reference = gpu.allocate(half, rows, out);
             Tensor off = gpu.allocate(half, rows, out); Tensor on = gpu.allocate(half, rows, out)) {
            withMlp16("false", () -> {
                gpu.linear(gx, gw, gb, pre);
                gpu.copy(pre, preRounded);
                gpu.copy(preRounded, pre);
                gpu.activation(Activation.QUICK_GELU, pre, reference);
                gpu.linearActivation(Activation.QUICK_GELU, gx, gw, gb, off);
            });
            withMlp16("true", () -> gpu.linearActivation(Activation.QUICK_GELU, gx, gw, gb, on));
            float[] ref = host(reference);
            int offDiffers = differing(ref, host(off));
            int onDiffers = differing(ref, host(on));
            System.out.println(String.format(Locale.ROOT, "MLP16 %-40s differ from the rounded-product reference:"
                    + " default %d, towerMlp16 %d of %d", label, offDiffers, onDiffers, ref.length));
            assertTrue(offDiffers > 0, label + ": the default path already rounds the product first");
            assertTrue(10L * onDiffers <= offDiffers, label + ": towerMlp16 differs from the reference in " + onDiffers
                    + " elements, the default in " + offDiffers);
            try (Tensor expected = gpu.download(reference)) {
                assertClose(label + " towerMlp16 vs reference", expected, on, half == DType.BF16 ? 1e-2 : 2e-3);
            }
        }
    }

    /** gelu_tanh (its GELU epilogue), an F32 out and GEMV rows keep the bits of the property off. */
    @ParameterizedTest(name = "{0} rows={1} -> {2}")
    @CsvSource({"GELU_TANH, 577, BF16", "QUICK_GELU, 577, F32", "QUICK_GELU, 5, BF16", "SILU, 8, F16"})
    void pathsTheFlagDoesNotTakeKeepTheirBits(Activation f, int rows, String outType) {
        CudaBackend gpu = cuda();
        DType weights = outType.equals("F16") ? DType.F16 : DType.BF16;
        int in = 128;
        int out = 512;
        String label = f + " rows=" + rows + " -> " + outType;
        try (Tensor x = random(81, 1f, DType.F32, rows, in); Tensor w = random(82, 0.08f, weights, out, in);
             Tensor b = random(83, 0.1f, weights, out); Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor gb = gpu.upload(b); Tensor off = gpu.allocate(DType.valueOf(outType), rows, out);
             Tensor on = gpu.allocate(DType.valueOf(outType), rows, out)) {
            withMlp16("false", () -> gpu.linearActivation(f, gx, gw, gb, off));
            withMlp16("true", () -> gpu.linearActivation(f, gx, gw, gb, on));
            assertBitsEqual(label + ": towerMlp16 vs default", off, on);
        }
    }

    /** The identity [n, n] in dtype: x eye^T is x, exactly, in F32 accumulation. */
    private static Tensor identity(DType dtype, int n) {
        float[] v = new float[n * n];
        for (int i = 0; i < n; i++) {
            v[i * n + i] = 1f;
        }
        Tensor t = Tensor.allocate(dtype, n, n);
        t.copyFrom(v);
        return t;
    }

    private static int differing(float[] expected, float[] actual) {
        int count = 0;
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                count++;
            }
        }
        return count;
    }

    /** body under towerMlp16 = {@code on}, then waits for the GPU. */
    private static void withMlp16(String on, Runnable body) {
        CudaTestSupport.withProperties(Map.of(CudaBackend.TOWER_MLP16_PROPERTY, on), () -> {
            body.run();
            cuda().synchronize();
            return null;
        });
    }
}
