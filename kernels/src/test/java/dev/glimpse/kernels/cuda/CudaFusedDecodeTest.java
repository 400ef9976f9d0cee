package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * The fused decode ops of {@link CudaBackend} against the unfused CUDA composition each one
 * documents and against the CPU backend's composition. Where the fused kernel does the very same
 * arithmetic (one weight, or gate/up, or the residual epilogue: same k split) the outputs must be
 * bit-identical to the unfused CUDA ops; q/k/v in one launch share one k split, so they must
 * match to F32 rounding ({@link CudaTestSupport#F32}). Shapes: LLaVA-1.5-7B's decoder (Llama,
 * 4096 / 11008, 32 heads of 128) and LLaVA-OneVision-0.5B's (Qwen2, 896 / 4864, 14 / 2 heads of
 * 64, q/k/v biases), plus row, feature and k tails.
 */
class CudaFusedDecodeTest {

    private static final float EPS = 1e-6f;

    /** A decoder's dimensions. */
    record Model(String name, int hidden, int intermediate, int heads, int kvHeads, int headDim, boolean qkvBias) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final Model LLAMA = new Model("llama-7b", 4096, 11008, 32, 32, 128, false);
    static final Model QWEN = new Model("qwen2-0.5b", 896, 4864, 14, 2, 64, true);

    static Stream<Arguments> models() {
        List<Arguments> cases = new ArrayList<>();
        for (Model m : new Model[] {LLAMA, QWEN}) {
            for (DType t : new DType[] {DType.BF16, DType.F16}) {
                cases.add(Arguments.of(m, t));
            }
        }
        return cases.stream();
    }

    private static Tensor gamma(long seed, DType dtype, int n) {
        Tensor g = random(seed, 0.2f, DType.F32, n);
        float[] v = g.toFloatArray();
        for (int i = 0; i < v.length; i++) {
            v[i] += 1f;
        }
        Tensor out = Tensor.allocate(dtype, n);
        out.copyFrom(v);
        g.close();
        return out;
    }

    private static float[] host(Tensor device) {
        try (Tensor h = cuda().download(device)) {
            return h.toFloatArray();
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("models")
    void qkvInOneLaunchMatchesNormThenThreeLinears(Model m, DType wType) {
        CudaBackend gpu = cuda();
        int qn = m.heads() * m.headDim();
        int kvn = m.kvHeads() * m.headDim();
        int[] ns = {qn, kvn, kvn};
        try (Tensor x = random(11, 1f, DType.F32, 1, m.hidden()); Tensor g = gamma(12, wType, m.hidden());
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(g);
             Tensor normedCpu = Tensor.allocate(DType.F32, 1, m.hidden());
             Tensor normedGpu = gpu.allocate(DType.F32, 1, m.hidden())) {
            CPU.rmsNorm(x, g, EPS, normedCpu);
            gpu.rmsNorm(gx, gg, EPS, normedGpu);
            List<Tensor> owned = new ArrayList<>();
            List<LinearTarget> targets = new ArrayList<>();
            List<Tensor> unfused = new ArrayList<>();
            List<Tensor> cpu = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    Tensor w = track(owned, random(20 + i, 0.03f, wType, ns[i], m.hidden()));
                    Tensor b = m.qkvBias() ? track(owned, random(30 + i, 0.1f, wType, ns[i])) : null;
                    Tensor gw = track(owned, gpu.upload(w));
                    Tensor gb = b == null ? null : track(owned, gpu.upload(b));
                    Tensor out = track(owned, gpu.allocate(DType.F32, 1, ns[i]));
                    targets.add(new LinearTarget(gw, gb, out));
                    Tensor ref = track(owned, gpu.allocate(DType.F32, 1, ns[i]));
                    gpu.linear(normedGpu, gw, gb, ref);
                    unfused.add(ref);
                    Tensor c = track(owned, Tensor.allocate(DType.F32, 1, ns[i]));
                    CPU.linear(normedCpu, w, b, c);
                    cpu.add(c);
                }
                gpu.rmsNormLinear(gx, gg, EPS, targets);
                for (int i = 0; i < 3; i++) {
                    String label = "rmsNormLinear qkv[" + i + "] " + m + " " + wType;
                    try (Tensor unfusedHost = gpu.download(unfused.get(i))) {
                        assertClose(label + " vs unfused", unfusedHost, targets.get(i).out(), CudaTestSupport.F32);
                    }
                    assertClose(label + " vs cpu", cpu.get(i), targets.get(i).out(), CudaTestSupport.GEMM_F32);
                }
            } finally {
                owned.forEach(Tensor::close);
            }
        }
    }

    private static Tensor track(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    @ParameterizedTest(name = "{0} weights, rows={1} n={2} k={3} bias={4}")
    @CsvSource({
            "BF16, 1, 896, 896, true", "F16, 1, 896, 896, true", "BF16, 1, 4096, 4096, false", "F16, 1, 4096, 4096, false",
            "BF16, 1, 7, 4104, true", "BF16, 3, 37, 896, false", "F16, 8, 4097, 4104, true", "BF16, 1, 1, 8, false",
            "BF16, 5, 129, 1032, true", "F16, 1, 151936, 896, false"})
    void oneWeightIsBitIdenticalToNormThenLinear(DType wType, int rows, int n, int k, boolean withBias) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(41, 1f, DType.F32, rows, k); Tensor g = gamma(42, wType, k);
             Tensor w = random(43, 0.03f, wType, n, k); Tensor b = random(44, 0.1f, wType, n);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(g); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(b);
             Tensor normed = gpu.allocate(DType.F32, rows, k); Tensor unfused = gpu.allocate(DType.F32, rows, n);
             Tensor fused = gpu.allocate(DType.F32, rows, n);
             Tensor normedCpu = Tensor.allocate(DType.F32, rows, k); Tensor cpu = Tensor.allocate(DType.F32, rows, n)) {
            Tensor bias = withBias ? gb : null;
            gpu.rmsNorm(gx, gg, EPS, normed);
            gpu.linear(normed, gw, bias, unfused);
            gpu.rmsNormLinear(gx, gg, EPS, gw, bias, fused);
            assertArrayEquals(host(unfused), host(fused), "rmsNormLinear differs from rmsNorm + linear");
            CPU.rmsNorm(x, g, EPS, normedCpu);
            CPU.linear(normedCpu, w, withBias ? b : null, cpu);
            assertClose("rmsNormLinear " + wType + " rows=" + rows + " n=" + n + " k=" + k, cpu, fused, CudaTestSupport.GEMM_F32);
        }
    }

    @ParameterizedTest(name = "{0} weights, rows={1} n={2} k={3}")
    @CsvSource({"F32, 1, 300, 256", "BF16, 1, 300, 1001", "BF16, 9, 64, 256"})
    void weightsTheKernelCannotReadRunTheComposition(DType wType, int rows, int n, int k) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(51, 1f, DType.F32, rows, k); Tensor g = gamma(52, DType.F32, k);
             Tensor w = random(53, 0.03f, wType, n, k);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(g); Tensor gw = gpu.upload(w);
             Tensor normed = gpu.allocate(DType.F32, rows, k); Tensor unfused = gpu.allocate(DType.F32, rows, n);
             Tensor fused = gpu.allocate(DType.F32, rows, n)) {
            gpu.rmsNorm(gx, gg, EPS, normed);
            gpu.linear(normed, gw, null, unfused);
            gpu.rmsNormLinear(gx, gg, EPS, gw, null, fused);
            assertArrayEquals(host(unfused), host(fused));
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("models")
    void gatedMlpInIsBitIdenticalToNormLinearsAndActivation(Model m, DType wType) {
        gatedCase(wType, 1, m.intermediate(), m.hidden(), false, m + " " + wType);
    }

    @ParameterizedTest(name = "{0} weights, rows={1} n={2} k={3} bias={4}")
    @CsvSource({"BF16, 1, 7, 4104, true", "F16, 3, 37, 896, false", "BF16, 8, 4097, 1032, true", "BF16, 1, 1, 8, true"})
    void gatedMlpInCoversTails(DType wType, int rows, int n, int k, boolean withBias) {
        gatedCase(wType, rows, n, k, withBias, wType + " rows=" + rows + " n=" + n + " k=" + k);
    }

    private void gatedCase(DType wType, int rows, int n, int k, boolean withBias, String label) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(61, 1f, DType.F32, rows, k); Tensor g = gamma(62, wType, k);
             Tensor wg = random(63, 0.03f, wType, n, k); Tensor wu = random(64, 0.03f, wType, n, k);
             Tensor bg = random(65, 0.1f, wType, n); Tensor bu = random(66, 0.1f, wType, n);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(g); Tensor gwg = gpu.upload(wg); Tensor gwu = gpu.upload(wu);
             Tensor gbg = gpu.upload(bg); Tensor gbu = gpu.upload(bu);
             Tensor normed = gpu.allocate(DType.F32, rows, k); Tensor gate = gpu.allocate(DType.F32, rows, n);
             Tensor up = gpu.allocate(DType.F32, rows, n); Tensor unfused = gpu.allocate(DType.F32, rows, n);
             Tensor fused = gpu.allocate(DType.F32, rows, n);
             Tensor normedCpu = Tensor.allocate(DType.F32, rows, k); Tensor gateCpu = Tensor.allocate(DType.F32, rows, n);
             Tensor upCpu = Tensor.allocate(DType.F32, rows, n); Tensor cpu = Tensor.allocate(DType.F32, rows, n)) {
            gpu.rmsNorm(gx, gg, EPS, normed);
            gpu.linear(normed, gwg, withBias ? gbg : null, gate);
            gpu.linear(normed, gwu, withBias ? gbu : null, up);
            gpu.gatedActivation(Activation.SILU, gate, up, unfused);
            gpu.rmsNormGatedMlpIn(gx, gg, EPS, gwg, withBias ? gbg : null, gwu, withBias ? gbu : null, Activation.SILU, fused);
            assertArrayEquals(host(unfused), host(fused), "rmsNormGatedMlpIn differs from the unfused ops: " + label);
            CPU.rmsNorm(x, g, EPS, normedCpu);
            CPU.linear(normedCpu, wg, withBias ? bg : null, gateCpu);
            CPU.linear(normedCpu, wu, withBias ? bu : null, upCpu);
            CPU.gatedActivation(Activation.SILU, gateCpu, upCpu, cpu);
            assertClose("rmsNormGatedMlpIn " + label, cpu, fused, CudaTestSupport.GEMM_F32);
        }
    }

    @Test
    void gatedMlpInStoresSixteenBitOutputs() {
        CudaBackend gpu = cuda();
        int n = 300;
        int k = 512;
        try (Tensor x = random(71, 1f, DType.F32, 1, k); Tensor g = gamma(72, DType.BF16, k);
             Tensor wg = random(73, 0.03f, DType.BF16, n, k); Tensor wu = random(74, 0.03f, DType.BF16, n, k);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(g); Tensor gwg = gpu.upload(wg); Tensor gwu = gpu.upload(wu);
             Tensor normed = gpu.allocate(DType.F32, 1, k); Tensor gate = gpu.allocate(DType.F32, 1, n);
             Tensor up = gpu.allocate(DType.F32, 1, n); Tensor unfused = gpu.allocate(DType.BF16, 1, n);
             Tensor fused = gpu.allocate(DType.BF16, 1, n)) {
            gpu.rmsNorm(gx, gg, EPS, normed);
            gpu.linear(normed, gwg, null, gate);
            gpu.linear(normed, gwu, null, up);
            gpu.gatedActivation(Activation.SILU, gate, up, unfused);
            gpu.rmsNormGatedMlpIn(gx, gg, EPS, gwg, null, gwu, null, Activation.SILU, fused);
            assertArrayEquals(host(unfused), host(fused));
        }
    }

    @ParameterizedTest(name = "{0} weights, rows={1} n={2} k={3} bias={4} inPlace={5}")
    @CsvSource({
            "BF16, 1, 4096, 4096, false, true", "F16, 1, 4096, 11008, false, true", "BF16, 1, 896, 896, true, true",
            "F16, 1, 896, 4864, false, false", "BF16, 3, 37, 4104, true, false", "F16, 8, 4097, 1032, false, true",
            "BF16, 1, 7, 8, true, true", "BF16, 2, 300, 1001, false, true", "F32, 1, 64, 256, true, true"})
    void linearAddResidualIsBitIdenticalToLinearThenAdd(DType wType, int rows, int n, int k, boolean withBias,
                                                        boolean inPlace) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(81, 1f, DType.F32, rows, k); Tensor w = random(82, 0.03f, wType, n, k);
             Tensor b = random(83, 0.1f, wType, n); Tensor res = random(84, 2f, DType.F32, rows, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(b);
             Tensor gres = gpu.upload(res); Tensor projected = gpu.allocate(DType.F32, rows, n);
             Tensor unfused = gpu.allocate(DType.F32, rows, n); Tensor separate = gpu.allocate(DType.F32, rows, n);
             Tensor projectedCpu = Tensor.allocate(DType.F32, rows, n); Tensor cpu = Tensor.allocate(DType.F32, rows, n)) {
            Tensor bias = withBias ? gb : null;
            gpu.linear(gx, gw, bias, projected);
            gpu.add(gres, projected, unfused);
            Tensor fused = inPlace ? gres : separate;
            gpu.linearAddResidual(gx, gw, bias, gres, fused);
            assertArrayEquals(host(unfused), host(fused), "linearAddResidual differs from linear + add");
            CPU.linear(x, w, withBias ? b : null, projectedCpu);
            CPU.add(res, projectedCpu, cpu);
            assertClose("linearAddResidual " + wType + " rows=" + rows + " n=" + n + " k=" + k + " inPlace=" + inPlace,
                    cpu, fused, CudaTestSupport.GEMM_F32);
        }
    }

    @Test
    void linearAddResidualRejectsAnOutputOverlappingX() {
        CudaBackend gpu = cuda();
        try (Tensor buf = gpu.allocate(DType.F32, 1, 256); Tensor w = gpu.upload(random(85, 0.03f, DType.BF16, 256, 256))) {
            assertThrows(dev.glimpse.kernels.TensorException.class, () -> gpu.linearAddResidual(buf, w, null, buf, buf));
        }
    }

    @ParameterizedTest(name = "heads={0}/{1} D={2} half={3} length={4} capacity={5}")
    @CsvSource({
            "14, 2, 64, 32, 0, 40", "14, 2, 64, 32, 17, 40", "14, 2, 64, 32, 39, 40", "32, 32, 128, 64, 0, 16",
            "32, 32, 128, 64, 9, 16", "8, 4, 64, 16, 5, 8", "6, 2, 6, 3, 2, 4"})
    void ropeAppendKvIsBitIdenticalToRopeRopeAppend(int heads, int kvHeads, int d, int half, int length, int capacity) {
        CudaBackend gpu = cuda();
        try (Tensor q = random(91, 1f, DType.F32, 1, heads, d); Tensor k = random(92, 1f, DType.F32, 1, kvHeads, d);
             Tensor v = random(93, 1f, DType.F32, 1, kvHeads, d); Tensor cos = random(94, 1f, DType.F32, 1, half);
             Tensor sin = random(95, 1f, DType.F32, 1, half); Tensor cache0 = random(96, 1f, DType.F32, kvHeads, capacity, d);
             Tensor cache1 = random(97, 1f, DType.F32, kvHeads, capacity, d);
             Tensor hostLength = Tensor.ofInts(new int[] {length}, 1); Tensor len = gpu.upload(hostLength);
             Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Tensor q1 = gpu.upload(q); Tensor k1 = gpu.upload(k); Tensor v1 = gpu.upload(v);
             Tensor kc1 = gpu.upload(cache0); Tensor vc1 = gpu.upload(cache1);
             Tensor q2 = gpu.upload(q); Tensor k2 = gpu.upload(k); Tensor v2 = gpu.upload(v);
             Tensor kc2 = gpu.upload(cache0); Tensor vc2 = gpu.upload(cache1);
             Tensor qCpu = Tensor.allocate(DType.F32, 1, heads, d); Tensor kCpu = Tensor.allocate(DType.F32, 1, kvHeads, d)) {
            gpu.rope(q1, gc, gs, q1);
            gpu.rope(k1, gc, gs, k1);
            gpu.appendKv(k1, v1, kc1, vc1, len);
            gpu.ropeAppendKv(q2, k2, v2, gc, gs, kc2, vc2, len);
            assertArrayEquals(host(q1), host(q2), "rotated q");
            assertArrayEquals(host(kc1), host(kc2), "key cache");
            assertArrayEquals(host(vc1), host(vc2), "value cache");
            assertArrayEquals(k.toFloatArray(), host(k2), "k itself is left unrotated");
            CPU.rope(q, cos, sin, qCpu);
            CPU.rope(k, cos, sin, kCpu);
            assertClose("ropeAppendKv q heads=" + heads + " D=" + d + " half=" + half, qCpu, q2, CudaTestSupport.F32);
            float[] keys = host(kc2);
            float[] values = host(vc2);
            float[] kRot = kCpu.toFloatArray();
            float[] vIn = v.toFloatArray();
            for (int h = 0; h < kvHeads; h++) {
                int at = (h * capacity + length) * d;
                for (int i = 0; i < d; i++) {
                    assertEquals(kRot[h * d + i], keys[at + i], 1e-5f * Math.max(1f, Math.abs(kRot[h * d + i])),
                            "key cache head " + h + " dim " + i);
                    assertEquals(vIn[h * d + i], values[at + i], "value cache head " + h + " dim " + i);
                }
            }
        }
    }

    /** A decode step's worth of fused ops captured as a graph and replayed writes the bits the eager ops wrote. */
    @Test
    void capturedFusedOpsReplayWithIdenticalBits() {
        CudaBackend gpu = cuda();
        Model m = QWEN;
        int qn = m.heads() * m.headDim();
        int kvn = m.kvHeads() * m.headDim();
        int capacity = 32;
        try (Tensor x = gpu.upload(random(101, 1f, DType.F32, 1, m.hidden()));
             Tensor g = gpu.upload(gamma(102, DType.BF16, m.hidden()));
             Tensor wq = gpu.upload(random(103, 0.03f, DType.BF16, qn, m.hidden()));
             Tensor wk = gpu.upload(random(104, 0.03f, DType.BF16, kvn, m.hidden()));
             Tensor wv = gpu.upload(random(105, 0.03f, DType.BF16, kvn, m.hidden()));
             Tensor bq = gpu.upload(random(106, 0.1f, DType.BF16, qn));
             Tensor wo = gpu.upload(random(107, 0.03f, DType.BF16, m.hidden(), qn));
             Tensor wg = gpu.upload(random(108, 0.03f, DType.BF16, m.intermediate(), m.hidden()));
             Tensor wu = gpu.upload(random(109, 0.03f, DType.BF16, m.intermediate(), m.hidden()));
             Tensor wd = gpu.upload(random(110, 0.03f, DType.BF16, m.hidden(), m.intermediate()));
             Tensor cos = gpu.upload(random(111, 1f, DType.F32, 1, m.headDim() / 2));
             Tensor sin = gpu.upload(random(112, 1f, DType.F32, 1, m.headDim() / 2));
             Tensor len = gpu.upload(Tensor.ofInts(new int[] {3}, 1));
             Tensor q = gpu.allocate(DType.F32, 1, qn); Tensor k = gpu.allocate(DType.F32, 1, kvn);
             Tensor v = gpu.allocate(DType.F32, 1, kvn);
             Tensor keys = gpu.allocate(DType.F32, m.kvHeads(), capacity, m.headDim());
             Tensor values = gpu.allocate(DType.F32, m.kvHeads(), capacity, m.headDim());
             Tensor residual = gpu.allocate(DType.F32, 1, m.hidden());
             Tensor activated = gpu.allocate(DType.F32, 1, m.intermediate());
             Tensor hidden = gpu.allocate(DType.F32, 1, m.hidden())) {
            Runnable step = () -> {
                gpu.copy(x, hidden);
                gpu.rmsNormLinear(hidden, g, EPS, List.of(new LinearTarget(wq, bq, q), new LinearTarget(wk, null, k),
                        new LinearTarget(wv, null, v)));
                gpu.ropeAppendKv(q.reshape(1, m.heads(), m.headDim()), k.reshape(1, m.kvHeads(), m.headDim()),
                        v.reshape(1, m.kvHeads(), m.headDim()), cos, sin, keys, values, len);
                gpu.linearAddResidual(q, wo, null, hidden, residual);
                gpu.rmsNormGatedMlpIn(residual, g, EPS, wg, null, wu, null, Activation.SILU, activated);
                gpu.linearAddResidual(activated, wd, null, residual, hidden);
            };
            step.run();
            float[][] eager = {host(q), host(keys), host(values), host(residual), host(activated), host(hidden)};
            for (Tensor t : new Tensor[] {q, k, v, keys, values, residual, activated, hidden}) {
                try (Tensor zeros = Tensor.allocate(DType.F32, t.shape()); Tensor deviceZeros = gpu.upload(zeros)) {
                    gpu.copy(deviceZeros, t);
                }
            }
            assertEquals(0f, host(hidden)[0], "outputs cleared before the replay");
            try (StepGraph graph = gpu.capture(step)) {
                gpu.launch(graph);
                float[][] replayed = {host(q), host(keys), host(values), host(residual), host(activated), host(hidden)};
                for (int i = 0; i < eager.length; i++) {
                    assertArrayEquals(eager[i], replayed[i], "output " + i + " of the replayed step");
                }
            }
        }
    }

    @Test
    void argmaxOfLongRowsTakesTheFirstOfTiedMaxima() {
        CudaBackend gpu = cuda();
        int n = 151936;
        float[] v = new float[n];
        Arrays.fill(v, 1f);
        assertEquals(0, argmax(gpu, v, 1)[0], "all equal: the first index");
        v[70000] = 5f;
        v[150000] = 5f;
        v[2047] = 4f;
        assertEquals(70000, argmax(gpu, v, 1)[0], "two maxima in different blocks: the lower index");
        v[2048] = 5f;
        assertEquals(2048, argmax(gpu, v, 1)[0], "a maximum that opens a block");
        v[n - 1] = 6f;
        assertEquals(n - 1, argmax(gpu, v, 1)[0], "the maximum in the last element");
    }

    @Test
    void argmaxOfLongRowsPutsNaNFirstAsTorchDoes() {
        CudaBackend gpu = cuda();
        int n = 100_000;
        float[] v = new float[n];
        Arrays.fill(v, Float.NEGATIVE_INFINITY);
        assertEquals(0, argmax(gpu, v, 1)[0], "all -inf: the first index");
        v[5] = Float.POSITIVE_INFINITY;
        v[90000] = Float.NaN;
        v[60000] = Float.NaN;
        assertEquals(60000, argmax(gpu, v, 1)[0], "the first NaN beats +inf and a later NaN");
    }

    @ParameterizedTest(name = "rows={0} n={1} dtype={2}")
    @CsvSource({"1, 32768, F32", "3, 151936, F32", "2, 1000003, F32", "2, 151936, BF16", "1, 32767, F32"})
    void argmaxOfRandomRowsMatchesCpu(int rows, int n, DType dtype) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(121, 3f, dtype, rows, n); Tensor gx = gpu.upload(x)) {
            assertArrayEquals(CPU.argmax(x), gpu.argmax(gx));
        }
    }

    private static int[] argmax(CudaBackend gpu, float[] values, int rows) {
        try (Tensor x = Tensor.of(values, rows, values.length / rows); Tensor gx = gpu.upload(x)) {
            return gpu.argmax(gx);
        }
    }
}
