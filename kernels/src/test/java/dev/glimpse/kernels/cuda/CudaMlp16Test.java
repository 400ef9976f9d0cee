package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Locale;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.rounded;
import static dev.glimpse.kernels.cuda.CudaTestSupport.runFromGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only: the two halves of a decoder MLP under {@code -Dglimpse.cuda.mlp16}. {@link CudaBackend#gatedActivationRounded}
 * ({@code gated_activation_<t>_v4} and {@code _v8}, each forced) stores HF's 16-bit roundings
 * {@code T(T(f(gate)) * up)} bit for bit, computed on the host from the F32 activation {@code activation_f32}
 * gives the widened gate (the device's own {@code activate}, whose exp is not Java's), for every activation, both
 * dtypes, sizes that are not multiples of 8, misaligned operands and in place;
 * {@link CudaBackend#linearStackRounded} writes gate and up as the F32 stacked product rounded once (within one
 * 16-bit rounding, the same bits but where two GEMM algorithms' F32 sums straddle a rounding boundary; also for
 * skinny deep products, where split-K candidates are timed and only those reducing in F32 may be chosen), with the
 * bias inside the product, into strided scratch views, from a graph, and declines what it does not take.
 */
class CudaMlp16Test {

    @ParameterizedTest(name = "{0} {1} {2}x{3}")
    @CsvSource({"BF16, SILU, 74, 4864", "F16, SILU, 74, 4864", "BF16, SILU, 3, 37", "F16, SILU, 1, 7",
            "BF16, GELU_ERF, 5, 1001", "BF16, GELU_TANH, 9, 24", "F16, QUICK_GELU, 7, 333", "BF16, RELU, 2, 64",
            "F16, GELU_ERF, 9, 17", "BF16, QUICK_GELU, 1, 1"})
    void gatedActivationStoresHfsRoundingsBitForBit(String type, Activation f, int rows, int width) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        String label = "gated " + f + " " + type + " " + rows + "x" + width;
        try (Tensor gate = random(91, 3f, half, rows, width); Tensor up = random(92, 2f, half, rows, width);
             Tensor gGate = gpu.upload(gate); Tensor gUp = gpu.upload(up);
             Tensor out = gpu.allocate(half, rows, width)) {
            for (String perThread : VALUES_PER_THREAD) {
                withVector(perThread, () -> gpu.gatedActivationRounded(f, gGate, gUp, out));
                assertBitsEqual(label + " v" + perThread, hfReference(f, gGate, gUp), out);
            }
            try (Tensor g32 = rounded(gate, half); Tensor u32 = rounded(up, half);
                 Tensor cpu = Tensor.allocate(DType.F32, rows, width)) {
                CPU.gatedActivation(f, g32, u32, cpu);
                assertClose(label + " vs CPU F32", cpu, out, half == DType.BF16 ? 2e-2 : 4e-3);
            }
        }
    }

    /** Operands one element off 16-byte alignment take the value-by-value path: the same bits. */
    @ParameterizedTest(name = "{0} {1}x{2}")
    @CsvSource({"BF16, 9, 40", "F16, 4, 67"})
    void misalignedOperandsGiveTheAlignedBits(String type, int rows, int width) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        int n = rows * width;
        try (Tensor gate = random(93, 3f, half, n + 1); Tensor up = random(94, 2f, half, n + 1);
             Tensor gGate = gpu.upload(gate); Tensor gUp = gpu.upload(up);
             Tensor outBuffer = gpu.allocate(half, n + 1); Tensor aligned = gpu.allocate(half, rows, width)) {
            Tensor g = gGate.slice(0, 1, n + 1).reshape(rows, width);
            Tensor u = gUp.slice(0, 1, n + 1).reshape(rows, width);
            Tensor out = outBuffer.slice(0, 1, n + 1).reshape(rows, width);
            assertTrue(CudaContext.address(g) % 8 != 0, "the view is misaligned");
            try (Tensor gc = gpu.allocate(half, rows, width); Tensor uc = gpu.allocate(half, rows, width)) {
                gpu.copy(g, gc);
                gpu.copy(u, uc);
                for (String perThread : VALUES_PER_THREAD) {
                    withVector(perThread, () -> {
                        gpu.gatedActivationRounded(Activation.SILU, g, u, out);
                        gpu.gatedActivationRounded(Activation.SILU, gc, uc, aligned);
                    });
                    assertBitsEqual(type + " v" + perThread + " misaligned vs aligned", aligned, out);
                    assertBitsEqual(type + " v" + perThread + " misaligned vs reference",
                            hfReference(Activation.SILU, gc, uc), out);
                }
            }
        }
    }

    @Test
    void gatedActivationMayWriteOverGate() {
        CudaBackend gpu = cuda();
        try (Tensor gate = random(95, 3f, DType.BF16, 12, 96); Tensor up = random(96, 2f, DType.BF16, 12, 96);
             Tensor gGate = gpu.upload(gate); Tensor gUp = gpu.upload(up); Tensor expected = gpu.allocate(DType.BF16, 12, 96)) {
            gpu.gatedActivationRounded(Activation.SILU, gGate, gUp, expected);
            gpu.gatedActivationRounded(Activation.SILU, gGate, gUp, gGate);
            gpu.synchronize();
            assertBitsEqual("in place over gate", expected, gGate);
        }
    }

    /**
     * gate/up rounded by the stacked product: at most 1% of the elements differ from the F32 stacked product
     * rounded afterwards, none by more than one 16-bit step; the [2, capacity, n] scratch layout, biases
     * (HF's {@code nn.Linear} adds them before rounding) and an F32 or 16-bit x.
     */
    @ParameterizedTest(name = "{0} rows={1} n={2} k={3} bias={4} x {5}")
    @CsvSource({"BF16, 74, 1024, 512, false, BF16", "F16, 74, 1024, 512, false, F16", "BF16, 586, 512, 256, false, BF16",
            "BF16, 74, 1024, 4096, false, BF16", "F16, 16, 512, 2048, false, F16",
            "BF16, 23, 256, 128, true, BF16", "F16, 16, 384, 64, true, F32", "BF16, 9, 136, 96, false, F32"})
    void stackedProductWritesTheRoundedSums(String type, int rows, int n, int k, boolean biased, String xType) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        int capacity = rows + 5;
        String label = "stacked rounded " + type + " " + rows + "x" + n + "x" + k + (biased ? " bias" : "") + " x " + xType;
        try (Tensor x = random(101, 1f, DType.valueOf(xType), rows, k); Tensor w = random(102, 0.08f, half, 2, n, k);
             Tensor b = random(103, 0.5f, half, 2, n); Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor gb = gpu.upload(b); Tensor f32 = gpu.allocate(DType.F32, 2, capacity, n);
             Tensor scratch = gpu.allocate(half, 2, capacity, n)) {
            Tensor bias = biased ? gb : null;
            Tensor out = scratch.slice(1, 0, rows);
            Tensor reference = f32.slice(1, 0, rows);
            gpu.linearStack(gx, gw, bias, reference);
            assertTrue(gpu.linearStackRounded(gx, gw, bias, out), label + ": declined");
            gpu.synchronize();
            float[] expected = roundedHost(reference, half);
            float[] actual = host(out);
            int differing = 0;
            for (int i = 0; i < expected.length; i++) {
                if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                    differing++;
                    float step = Math.max(Math.ulp(expected[i]), Math.ulp(actual[i])) * (half == DType.BF16 ? 65536 : 8192);
                    int at = i;
                    assertTrue(Math.abs(expected[i] - actual[i]) <= step, () -> label + ": element " + at + " is "
                            + actual[at] + ", the rounded F32 product " + expected[at]);
                }
            }
            System.out.println(String.format(Locale.ROOT, "MLP16 %-48s differ from the rounded F32 product: %d of %d",
                    label, differing, expected.length));
            assertTrue(100L * differing <= expected.length, label + ": " + differing + " of " + expected.length + " differ");
        }
    }

    /** Replayed from a graph (after an eager call chose the algorithm) the pair gives the eager bits. */
    @Test
    void productAndActivationReplayFromAGraph() {
        CudaBackend gpu = cuda();
        int rows = 74;
        int n = 512;
        int k = 256;
        try (Tensor x = random(111, 1f, DType.BF16, rows, k); Tensor w = random(112, 0.08f, DType.BF16, 2, n, k);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gateUp = gpu.allocate(DType.BF16, 2, rows, n);
             Tensor eager = gpu.allocate(DType.BF16, rows, n); Tensor replayed = gpu.allocate(DType.BF16, rows, n)) {
            Runnable mlpIn = () -> {
                assertTrue(gpu.linearStackRounded(gx, gw, null, gateUp));
                gpu.gatedActivationRounded(Activation.SILU, gateUp.select(0, 0), gateUp.select(0, 1), eager);
            };
            mlpIn.run();
            gpu.synchronize();
            runFromGraph(() -> {
                assertTrue(gpu.linearStackRounded(gx, gw, null, gateUp));
                gpu.gatedActivationRounded(Activation.SILU, gateUp.select(0, 0), gateUp.select(0, 1), replayed);
            });
            assertBitsEqual("graph vs eager", eager, replayed);
        }
    }

    /** F32 weights, few rows (the GEMV's), an out of another dtype: false, nothing queued. */
    @Test
    void stackedProductDeclinesWhatItDoesNotTake() {
        CudaBackend gpu = cuda();
        try (Tensor x = gpu.upload(random(121, 1f, DType.BF16, 8, 64)); Tensor x16 = gpu.upload(random(122, 1f, DType.BF16, 16, 64));
             Tensor w = gpu.upload(random(123, 0.1f, DType.BF16, 2, 128, 64));
             Tensor w32 = gpu.upload(random(124, 0.1f, DType.F32, 2, 128, 64));
             Tensor out8 = gpu.allocate(DType.BF16, 2, 8, 128); Tensor out16 = gpu.allocate(DType.BF16, 2, 16, 128);
             Tensor outF16 = gpu.allocate(DType.F16, 2, 16, 128); Tensor x32 = gpu.upload(random(125, 1f, DType.F32, 16, 64))) {
            assertFalse(gpu.linearStackRounded(x, w, null, out8), "8 rows");
            assertFalse(gpu.linearStackRounded(x32, w32, null, out16), "F32 weights");
            assertFalse(gpu.linearStackRounded(x16, w, null, outF16), "F16 out of BF16 weights");
            assertTrue(gpu.linearStackRounded(x16, w, null, out16), "16 rows");
        }
    }

    @Test
    void autoTakesEightValuesPerThreadOnlyForLargePasses() {
        assertEquals(4, Mlp16Vector.AUTO.valuesPerThread(74L * 11008));
        assertEquals(4, Mlp16Vector.AUTO.valuesPerThread(586L * 4864));
        assertEquals(8, Mlp16Vector.AUTO.valuesPerThread(586L * 11008));
        assertEquals(8, Mlp16Vector.EIGHT.valuesPerThread(1));
        assertEquals(4, Mlp16Vector.FOUR.valuesPerThread(1L << 30));
        CudaTestSupport.withProperty(Mlp16Vector.PROPERTY, "", () -> assertEquals(Mlp16Vector.AUTO, Mlp16Vector.configured()));
        CudaTestSupport.withProperty(Mlp16Vector.PROPERTY, "8", () -> assertEquals(Mlp16Vector.EIGHT, Mlp16Vector.configured()));
        CudaTestSupport.withProperty(Mlp16Vector.PROPERTY, "16",
                () -> assertThrows(CudaException.class, Mlp16Vector::configured));
    }

    @Test
    void mlp16IsOnByDefaultAndParsedStrictly() {
        CudaTestSupport.withProperty(CudaBackend.MLP16_PROPERTY, " ", () -> assertTrue(CudaBackend.mlp16Enabled()));
        CudaTestSupport.withProperty(CudaBackend.MLP16_PROPERTY, "FALSE", () -> assertFalse(CudaBackend.mlp16Enabled()));
        CudaTestSupport.withProperty(CudaBackend.MLP16_PROPERTY, "off",
                () -> assertThrows(IllegalArgumentException.class, CudaBackend::mlp16Enabled));
        assertEquals("glimpse.cuda.mlp16", CudaBackend.MLP16_PROPERTY);
    }

    /** Every {@link Mlp16Vector} choice but auto: each kernel width is checked on its own. */
    private static final List<String> VALUES_PER_THREAD = List.of(Mlp16Vector.FOUR.id(), Mlp16Vector.EIGHT.id());

    /** body under {@code -Dglimpse.cuda.mlp16Vector=perThread}, then waits for the GPU. */
    private static void withVector(String perThread, Runnable body) {
        CudaTestSupport.withProperty(Mlp16Vector.PROPERTY, perThread, () -> {
            body.run();
            cuda().synchronize();
        });
    }

    /**
     * HF's {@code T(T(f(gate)) * up)} on the host, from the device's F32 {@code f(gate)} ({@code activation_f32} of
     * the exactly widened gate), as a host tensor of gate's dtype.
     */
    private static Tensor hfReference(Activation f, Tensor gate, Tensor up) {
        CudaBackend gpu = cuda();
        DType half = gate.dtype();
        try (Tensor widened = gpu.allocate(DType.F32, gate.shape()); Tensor activated = gpu.allocate(DType.F32, gate.shape())) {
            gpu.copy(gate, widened);
            gpu.activation(f, widened, activated);
            float[] a = host(activated);
            float[] u = host(up);
            float[] h = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                h[i] = round(round(a[i], half) * u[i], half);
            }
            Tensor t = Tensor.allocate(half, gate.shape());
            t.copyFrom(h);
            return t;
        }
    }

    /** The values of a device F32 tensor rounded to nearest even through {@code half}. */
    private static float[] roundedHost(Tensor device, DType half) {
        float[] v = host(device);
        for (int i = 0; i < v.length; i++) {
            v[i] = round(v[i], half);
        }
        return v;
    }

    /** v rounded to nearest even to {@code half} (F16 or BF16) and widened back. */
    private static float round(float v, DType half) {
        return half == DType.BF16 ? DType.bf16ToFloat(DType.floatToBf16(v)) : DType.f16ToFloat(DType.floatToF16(v));
    }
}
