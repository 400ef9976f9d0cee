package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link CudaBackend#rmsNormLinearRopeAppendKv} (RoPE and the KV append in the q/k/v GEMV's
 * epilogue) against what it replaces, {@link CudaBackend#rmsNormLinear} over q, k, v followed by
 * {@link CudaBackend#ropeAppendKv}: q, k, v and both caches bit for bit, for LLaVA-1.5-7B's decoder
 * (Llama: 4096, 32 heads of 128) and LLaVA-OneVision-0.5B's (Qwen2: 896, 14 / 2 heads of 64),
 * BF16 and F16 weights, with and without q/k/v biases, F32, BF16 and F16 caches, cache entries 0, one
 * inside and capacity - 1; partial rotary; a captured graph replayed at several lengths.
 */
class CudaDecodeRopeEpilogueTest {

    private static final float EPS = 1e-6f;
    private static final int CAPACITY = 24;

    /** A decoder's attention dimensions and rotary half. */
    record Shape(String name, int hidden, int heads, int kvHeads, int headDim, int half) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final Shape LLAMA = new Shape("llama-7b", 4096, 32, 32, 128, 64);
    static final Shape QWEN = new Shape("qwen2-0.5b", 896, 14, 2, 64, 32);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Shape s : new Shape[] {LLAMA, QWEN}) {
            for (DType w : new DType[] {DType.BF16, DType.F16}) {
                for (boolean bias : new boolean[] {true, false}) {
                    cases.add(Arguments.of(s, w, bias));
                }
            }
        }
        return cases.stream();
    }

    /** One layer's q/k/v weights, biases, norm and rotary tables on the device. */
    private record Layer(Tensor x, Tensor gamma, Tensor wq, Tensor wk, Tensor wv, Tensor bq, Tensor bk, Tensor bv,
                         Tensor cos, Tensor sin) implements AutoCloseable {

        static Layer of(CudaBackend gpu, Shape s, DType w, boolean bias, long seed) {
            int qn = s.heads() * s.headDim();
            int kvn = s.kvHeads() * s.headDim();
            return new Layer(up(gpu, random(seed, 1f, DType.F32, 1, s.hidden())),
                    up(gpu, normWeights(seed + 1, w, s.hidden())),
                    up(gpu, random(seed + 2, 0.03f, w, qn, s.hidden())),
                    up(gpu, random(seed + 3, 0.03f, w, kvn, s.hidden())),
                    up(gpu, random(seed + 4, 0.03f, w, kvn, s.hidden())),
                    bias ? up(gpu, random(seed + 5, 0.1f, w, qn)) : null,
                    bias ? up(gpu, random(seed + 6, 0.1f, w, kvn)) : null,
                    bias ? up(gpu, random(seed + 7, 0.1f, w, kvn)) : null,
                    up(gpu, random(seed + 8, 1f, DType.F32, 1, s.half())),
                    up(gpu, random(seed + 9, 1f, DType.F32, 1, s.half())));
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, gamma, wq, wk, wv, bq, bk, bv, cos, sin}) {
                if (t != null) {
                    t.close();
                }
            }
        }
    }

    /** The outputs of one path: q, k, v scratch rows and the two caches. */
    private record Outputs(Tensor q, Tensor k, Tensor v, Tensor keys, Tensor values) implements AutoCloseable {

        static Outputs of(CudaBackend gpu, Shape s, Tensor keys0, Tensor values0) {
            return new Outputs(gpu.allocate(DType.F32, 1, s.heads() * s.headDim()),
                    gpu.allocate(DType.F32, 1, s.kvHeads() * s.headDim()),
                    gpu.allocate(DType.F32, 1, s.kvHeads() * s.headDim()), gpu.upload(keys0), gpu.upload(values0));
        }

        List<LinearTarget> targets(Layer l) {
            return List.of(new LinearTarget(l.wq(), l.bq(), q), new LinearTarget(l.wk(), l.bk(), k),
                    new LinearTarget(l.wv(), l.bv(), v));
        }

        /** Today's two launches. */
        void twoLaunches(CudaBackend gpu, Shape s, Layer l, Tensor length) {
            gpu.rmsNormLinear(l.x(), l.gamma(), EPS, targets(l));
            gpu.ropeAppendKv(q.reshape(1, s.heads(), s.headDim()), k.reshape(1, s.kvHeads(), s.headDim()),
                    v.reshape(1, s.kvHeads(), s.headDim()), l.cos(), l.sin(), keys, values, length);
        }

        /** The fused op. */
        void epilogue(CudaBackend gpu, Layer l, Tensor length) {
            List<LinearTarget> t = targets(l);
            gpu.rmsNormLinearRopeAppendKv(l.x(), l.gamma(), EPS, t.get(0), t.get(1), t.get(2), l.cos(), l.sin(), keys,
                    values, length);
        }

        void assertSameBits(Outputs expected, String label) {
            assertArrayEquals(host(expected.q), host(q), label + ": rotated q");
            assertArrayEquals(host(expected.k), host(k), label + ": k as the GEMV left it");
            assertArrayEquals(host(expected.v), host(v), label + ": v");
            assertArrayEquals(host(expected.keys), host(keys), label + ": key cache");
            assertArrayEquals(host(expected.values), host(values), label + ": value cache");
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {q, k, v, keys, values}) {
                t.close();
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} bias={2}")
    @MethodSource("cases")
    void epilogueWritesTheBitsOfNormLinearThenRopeAppend(Shape s, DType w, boolean bias) {
        CudaBackend gpu = cuda();
        try (Layer l = Layer.of(gpu, s, w, bias, 300)) {
            for (DType cache : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                for (int length : new int[] {0, 7, CAPACITY - 1}) {
                    assertSameAsTwoLaunches(gpu, s, l, cache, length, s + " " + w + " bias=" + bias + " cache=" + cache
                            + " length=" + length);
                }
            }
        }
    }

    @ParameterizedTest(name = "heads={0}/{1} D={2} half={3}")
    @CsvSource({"8, 2, 64, 16", "4, 4, 128, 32", "4, 2, 64, 2"})
    void partialRotaryPassesTheOtherDimsThroughAsTheTwoLaunches(int heads, int kvHeads, int d, int half) {
        CudaBackend gpu = cuda();
        Shape s = new Shape("partial", 512, heads, kvHeads, d, half);
        try (Layer l = Layer.of(gpu, s, DType.BF16, true, 400)) {
            for (DType cache : new DType[] {DType.F32, DType.BF16}) {
                assertSameAsTwoLaunches(gpu, s, l, cache, 5, "partial rotary D=" + d + " half=" + half + " cache=" + cache);
            }
        }
    }

    @Test
    void oddRotaryHalfFallsBackToTheTwoLaunches() {
        CudaBackend gpu = cuda();
        Shape s = new Shape("odd-half", 256, 4, 2, 6, 3);
        try (Layer l = Layer.of(gpu, s, DType.F16, false, 500)) {
            assertSameAsTwoLaunches(gpu, s, l, DType.F32, 2, "D=6 half=3 (fallback)");
        }
    }

    /** A captured fused op replayed after the length moved writes each entry as the eager two launches write it. */
    @Test
    void capturedEpilogueReplaysAtEachLengthWithTheTwoLaunchesBits() {
        CudaBackend gpu = cuda();
        Shape s = QWEN;
        try (Layer l = Layer.of(gpu, s, DType.BF16, true, 600);
             Tensor keys0 = random(610, 1f, DType.BF16, s.kvHeads(), CAPACITY, s.headDim());
             Tensor values0 = random(611, 1f, DType.BF16, s.kvHeads(), CAPACITY, s.headDim());
             Outputs expected = Outputs.of(gpu, s, keys0, values0); Outputs actual = Outputs.of(gpu, s, keys0, values0);
             Tensor length = gpu.upload(Tensor.ofInts(new int[] {0}, 1))) {
            try (StepGraph graph = gpu.capture(() -> actual.epilogue(gpu, l, length))) {
                for (int at : new int[] {0, 1, 13, CAPACITY - 1}) {
                    try (Tensor h = Tensor.ofInts(new int[] {at}, 1); Tensor d = gpu.upload(h)) {
                        gpu.copy(d, length);
                    }
                    expected.twoLaunches(gpu, s, l, length);
                    gpu.launch(graph);
                    gpu.synchronize();
                    actual.assertSameBits(expected, "replay at length " + at);
                }
            }
        }
    }

    @Test
    void theEpilogueIsOptIn() {
        String previous = System.clearProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY);
        try {
            assertFalse(CudaBackend.decodeRopeEpilogueEnabled(), "off without the property");
            System.setProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY, "true");
            assertTrue(CudaBackend.decodeRopeEpilogueEnabled(), "on with -Dglimpse.cuda.decodeRopeEpilogue=true");
        } finally {
            if (previous == null) {
                System.clearProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY);
            } else {
                System.setProperty(CudaBackend.DECODE_ROPE_EPILOGUE_PROPERTY, previous);
            }
        }
    }

    private static void assertSameAsTwoLaunches(CudaBackend gpu, Shape s, Layer l, DType cache, int length, String label) {
        try (Tensor keys0 = random(length + 700, 1f, cache, s.kvHeads(), CAPACITY, s.headDim());
             Tensor values0 = random(length + 701, 1f, cache, s.kvHeads(), CAPACITY, s.headDim());
             Outputs expected = Outputs.of(gpu, s, keys0, values0); Outputs actual = Outputs.of(gpu, s, keys0, values0);
             Tensor h = Tensor.ofInts(new int[] {length}, 1); Tensor len = gpu.upload(h)) {
            expected.twoLaunches(gpu, s, l, len);
            actual.epilogue(gpu, l, len);
            actual.assertSameBits(expected, label);
        }
    }

    private static Tensor up(CudaBackend gpu, Tensor host) {
        try (host) {
            return gpu.upload(host);
        }
    }

    /** RMSNorm weights around 1. */
    private static Tensor normWeights(long seed, DType dtype, int n) {
        float[] v;
        try (Tensor g = random(seed, 0.2f, DType.F32, n)) {
            v = g.toFloatArray();
        }
        for (int i = 0; i < v.length; i++) {
            v[i] += 1f;
        }
        Tensor out = Tensor.allocate(dtype, n);
        out.copyFrom(v);
        return out;
    }
}
