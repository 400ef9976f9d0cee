package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The decode step's RoPE + KV append folded into the wide decode attention kernel
 * ({@link CudaBackend#ropeAppendKvDecodeAttention} under {@code -Dglimpse.cuda.decodeRopeAttention=true},
 * {@code attention_decode_wide_rope*} in decode_wide.cu) against {@code rope_append_kv} then the wide kernel
 * (the switch off) on copies of the same inputs: the same attention output and the same key and value caches,
 * bit for bit, over F32, BF16 and F16 caches, Qwen2-0.5B's 14 query heads over 2 kv heads of dim 64 and
 * Llama-7B's 32 over 32 of dim 128 (and a group spread over two head blocks, a partly rotary head dim), with the
 * appended entry the first, the last or in the middle of its split, mid-tile, as the only key, at odd counts,
 * inside the attended keys but not the last (a rewritten entry), past them (appended, read by no block) and with
 * no keys at all; PDL on and off, eagerly and replayed from a CUDA graph at changing lengths. The fused path
 * leaves q unrotated, which shows that it ran (the two launches rotate q in place).
 *
 * <p>Grid {@code 64x128} fixes the splits at capacity / 128 on any GPU of 32+ SMs (64 over a cache of 8192), so
 * the key counts below put the entry where their names say: a split holds max(tile, ceil(keys / 64) rounded up to
 * the tile) keys (tiles of 64 keys at D 64, 32 at D 128). The default grid runs the same counts too.
 */
class CudaDecodeRopeAttentionTest {

    private static final String SWITCH = CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY;
    private static final String FIXED_GRID = "64x128";

    /** One side's device tensors: q (rotated in place by the two launches), its caches and output. */
    private record Side(Tensor q, Tensor keys, Tensor values, Tensor out) implements AutoCloseable {
        @Override
        public void close() {
            q.close();
            keys.close();
            values.close();
            out.close();
        }
    }

    /**
     * A host cache [Hkv, capacity, D] of dtype: random entries below {@code filled}, NaN from there on and at
     * entry {@code at} (so an entry read before the append, or past the key count, poisons the output).
     */
    private static Tensor cache(long seed, int hkv, int capacity, int d, int filled, int at, DType dtype) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] values = new float[hkv * capacity * d];
        Arrays.fill(values, Float.NaN);
        for (int h = 0; h < hkv; h++) {
            for (int j = 0; j < filled; j++) {
                if (j == at) {
                    continue;
                }
                for (int i = 0; i < d; i++) {
                    values[(h * capacity + j) * d + i] = (float) (r.nextDouble() * 2 - 1);
                }
            }
        }
        Tensor t = Tensor.allocate(dtype, hkv, capacity, d);
        t.copyFrom(values);
        return t;
    }

    private static Side side(CudaBackend gpu, Tensor q, Tensor keys, Tensor values) {
        return new Side(gpu.upload(q), gpu.upload(keys), gpu.upload(values), gpu.allocate(DType.F32, q.shape()));
    }

    private static Map<String, String> settings(String grid, String pdl, boolean fused) {
        Map<String, String> p = new HashMap<>();
        p.put(CudaDecodeAttention.KERNEL_PROPERTY, "wide");
        p.put(CudaBackend.PDL_PROPERTY, pdl);
        p.put(SWITCH, Boolean.toString(fused));
        if (grid != null) {
            p.put(WideDecodePlan.GRID_PROPERTY, grid);
        }
        return p;
    }

    private static void assertSameBits(String label, Side twoLaunches, Side fused, float[] unrotatedQ) {
        assertArrayEquals(host(twoLaunches.out()), host(fused.out()), label + ": attention output");
        assertArrayEquals(host(twoLaunches.keys()), host(fused.keys()), label + ": key cache");
        assertArrayEquals(host(twoLaunches.values()), host(fused.values()), label + ": value cache");
        assertArrayEquals(unrotatedQ, host(fused.q()), label + ": the fused kernel leaves q unrotated");
    }

    @ParameterizedTest(name = "{0} Hq={1} Hkv={2} D={3} half={4} length={5} keys={6}")
    @CsvSource({
            // Qwen2-0.5B, D 64 (tile 64): chunk 64 up to 4096 keys, 128 at 6,300.
            "F32, 14, 2, 64, 32, 576, 577", "F32, 14, 2, 64, 32, 639, 640", "F32, 14, 2, 64, 32, 599, 600",
            "F32, 14, 2, 64, 32, 0, 1", "F32, 14, 2, 64, 32, 6299, 6300", "F32, 14, 2, 64, 32, 6400, 6401",
            "F32, 14, 2, 64, 32, 6399, 6400", "F32, 14, 2, 64, 32, 6336, 6337", "F32, 14, 2, 64, 32, 6300, 6301",
            "BF16, 14, 2, 64, 32, 576, 577", "BF16, 14, 2, 64, 32, 639, 640", "BF16, 14, 2, 64, 32, 0, 1",
            "BF16, 14, 2, 64, 32, 6299, 6300", "BF16, 14, 2, 64, 32, 6400, 6401", "BF16, 14, 2, 64, 32, 600, 601",
            "F16, 14, 2, 64, 32, 6399, 6400", "F16, 14, 2, 64, 32, 64, 65", "F16, 14, 2, 64, 32, 8190, 8191",
            // Llama-7B, D 128 (tile 32): chunk 32 up to 2048 keys, 128 at 6,300.
            "F32, 32, 32, 128, 64, 640, 641", "F32, 32, 32, 128, 64, 639, 640", "F32, 32, 32, 128, 64, 599, 600",
            "F32, 32, 32, 128, 64, 0, 1", "F32, 32, 32, 128, 64, 6299, 6300", "BF16, 32, 32, 128, 64, 6400, 6401",
            "BF16, 32, 32, 128, 64, 6399, 6400", "BF16, 32, 32, 128, 64, 32, 33", "F16, 32, 32, 128, 64, 600, 601",
            "F16, 32, 32, 128, 64, 8191, 8192",
            // A group over two head blocks (16 heads per kv head), a partly rotary head (pass-through dims).
            "F32, 32, 2, 64, 32, 1999, 2000", "BF16, 32, 2, 128, 64, 6400, 6401", "F32, 14, 2, 64, 16, 599, 600",
            "BF16, 32, 32, 128, 48, 640, 641",
            // The entry inside the keys (not the last), past them (read by no block), and no keys at all.
            "F32, 14, 2, 64, 32, 300, 600", "BF16, 32, 32, 128, 64, 6272, 6300", "F32, 14, 2, 64, 32, 700, 600",
            "F16, 14, 2, 64, 32, 5, 0"})
    void matchesRopeAppendThenTheWideKernelBitForBit(DType dtype, int hq, int hkv, int d, int half, int length,
                                                     int keys) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        float scale = (float) (1 / Math.sqrt(d));
        int filled = Math.max(keys, length + 1);
        try (Tensor q = random(111, 1, hq, d); Tensor k = random(112, 1, hkv, d); Tensor v = random(113, 1, hkv, d);
             Tensor cos = random(114, 1f, DType.F32, 1, half); Tensor sin = random(115, 1f, DType.F32, 1, half);
             Tensor hostKeys = cache(116, hkv, capacity, d, filled, length, dtype);
             Tensor hostValues = cache(117, hkv, capacity, d, filled, length, dtype);
             Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v); Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Tensor len = gpu.upload(Tensor.ofInts(new int[] {length}, 1));
             Tensor count = gpu.upload(Tensor.ofInts(new int[] {keys}, 1))) {
            float[] unrotated = q.toFloatArray();
            for (String grid : new String[] {FIXED_GRID, null}) {
                for (String pdl : new String[] {"true", "false"}) {
                    String label = dtype + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + " half=" + half + " length=" + length
                            + " keys=" + keys + " grid=" + (grid == null ? "default" : grid) + " pdl=" + pdl;
                    try (Side two = side(gpu, q, hostKeys, hostValues); Side one = side(gpu, q, hostKeys, hostValues)) {
                        withProperties(settings(grid, pdl, false), () -> {
                            gpu.ropeAppendKv(two.q(), gk, gv, gc, gs, two.keys(), two.values(), len);
                            gpu.decodeAttention(two.q(), two.keys(), two.values(), count, scale, two.out());
                            return null;
                        });
                        withProperties(settings(grid, pdl, true), () -> {
                            gpu.ropeAppendKvDecodeAttention(one.q(), gk, gv, gc, gs, one.keys(), one.values(), len, count,
                                    scale, one.out(), null);
                            return null;
                        });
                        assertSameBits(label, two, one, unrotated);
                        if (keys > 0) {
                            assertFalse(Arrays.equals(unrotated, host(two.q())), label + ": the two launches rotate q");
                        }
                    }
                }
            }
        }
    }

    /**
     * Both paths captured in one graph (the switch read at capture: the two launches over one pair of caches, the
     * fused kernel over the other; q refreshed from a pristine copy first, since the two launches rotate it in
     * place) and replayed at growing lengths, each appending the next entry as a decode session does: after every
     * replay the outputs and caches agree bit for bit.
     */
    @ParameterizedTest(name = "{0} Hq={1} Hkv={2} D={3} pdl={4}")
    @CsvSource({"F32, 14, 2, 64, true", "BF16, 14, 2, 64, true", "BF16, 14, 2, 64, false", "F16, 32, 32, 128, true",
            "F32, 32, 32, 128, false"})
    void graphReplaysMatchTheTwoLaunchesAtEveryLength(DType dtype, int hq, int hkv, int d, String pdl) {
        CudaBackend gpu = cuda();
        int capacity = 8192;
        int half = d / 2;
        float scale = (float) (1 / Math.sqrt(d));
        int[] lengths = {0, 63, 64, 127, 599, 600, 4095, 6299, 6300, 6399, 6400, 8191};
        try (Tensor q = random(121, 1, hq, d); Tensor k = random(122, 1, hkv, d); Tensor v = random(123, 1, hkv, d);
             Tensor cos = random(124, 1f, DType.F32, 1, half); Tensor sin = random(125, 1f, DType.F32, 1, half);
             Tensor hostKeys = cache(126, hkv, capacity, d, capacity, -1, dtype);
             Tensor hostValues = cache(127, hkv, capacity, d, capacity, -1, dtype);
             Tensor pristine = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor gc = gpu.upload(cos); Tensor gs = gpu.upload(sin);
             Side two = side(gpu, q, hostKeys, hostValues); Side one = side(gpu, q, hostKeys, hostValues);
             StepInputs inputs = gpu.stepInputs(2)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                gpu.copy(pristine, two.q());
                System.setProperty(SWITCH, "false");
                gpu.ropeAppendKvDecodeAttention(two.q(), gk, gv, gc, gs, two.keys(), two.values(), inputs.cell(0),
                        inputs.cell(1), scale, two.out(), null);
                System.setProperty(SWITCH, "true");
                gpu.ropeAppendKvDecodeAttention(one.q(), gk, gv, gc, gs, one.keys(), one.values(), inputs.cell(0),
                        inputs.cell(1), scale, one.out(), null);
            };
            inputs.set(0, lengths[0]);
            inputs.set(1, lengths[0] + 1);
            float[] unrotated = q.toFloatArray();
            // One eager step first (it sizes the workspace and counters outside the capture), as decode sessions do.
            try (StepGraph graph = withProperties(settings(null, pdl, false), () -> {
                step.run();
                return gpu.capture(step);
            })) {
                for (int length : lengths) {
                    graph.awaitLastLaunch();
                    inputs.set(0, length);
                    inputs.set(1, length + 1);
                    gpu.launch(graph);
                    gpu.synchronize();
                    assertSameBits(dtype + " Hq=" + hq + " D=" + d + " pdl=" + pdl + " replay at length " + length, two, one,
                            unrotated);
                }
            }
        }
    }
}
