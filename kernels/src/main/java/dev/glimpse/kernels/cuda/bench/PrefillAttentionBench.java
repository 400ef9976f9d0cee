package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.AttentionMmaWarps;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;

import java.io.PrintStream;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

import static dev.glimpse.kernels.cuda.bench.BenchTensors.uniform;

/**
 * Prefill attention on the GPU ({@link CudaBackend#attention}, the tensor-core kernels) at every
 * {@link AttentionPrecision} (F32: the 3xTF32 kernel; BF16 and F16: the 16-bit mma kernel) over
 * the shapes that dominate time to first token: OneVision's SigLIP tower on a 32-frame video (729
 * tokens, 32 frames x 16 heads of dim 72 run as 512 heads, bidirectional), its Qwen2 decoder's
 * prefill of that video (6296 tokens, 14 query heads over 2 kv heads of dim 64, causal), CLIP ViT-L's
 * tower on one image (577 tokens, 16 heads of dim 64, bidirectional) and LLaVA-1.5-7B's prefill of
 * one image (586 tokens, 32 heads of dim 128, causal), and two more small grids for {@link AttentionSmallGrid}:
 * CLIP on two images (32 heads) and SigLIP on one (16 heads). Each run does {@value #WARMUP} warm-up calls,
 * then {@value #CALLS} calls bracketed by stream synchronisations (the K and V packing included).
 *
 * <p>BF16 and F16 run every block shape of {@link AttentionMmaWarps} ({@code w4}, {@code w8},
 * {@code w4x2}) and both automatic choices ({@code auto16}: the choice before {@code w4x2}, {@code
 * auto}: today's default), the {@code variant} field naming it ({@code "tf32"} for F32); the
 * property is restored after each. Prints one JSON object per line with the time per call and the
 * tensor-core rate it implies (4 T S D flops per query head for Q K^T and P V over the visible (query, key) pairs,
 * about half of them when causal), then per shape and 16-bit precision a {@code
 * prefill_attention_summary} line: the old default ({@code auto16}) against {@code w4x2} and
 * {@code auto}, with the speedups old / new. Each shape and 16-bit precision then runs every
 * {@link AttentionSmallGrid} choice ({@link #runSmallGrid}).
 */
public final class PrefillAttentionBench {

    static final int WARMUP = 3;
    static final int CALLS = 20;
    /** {tokens, query heads, kv heads, head dim, causal (1) or bidirectional (0)}. */
    private static final int[][] SHAPES = {
            {729, 512, 512, 72, 0}, {6296, 14, 2, 64, 1}, {577, 16, 16, 64, 0}, {586, 32, 32, 128, 1},
            {577, 32, 32, 64, 0}, {729, 16, 16, 72, 0}};
    private static final String[] SHAPE_NAMES = {"siglip-so400m-32f", "qwen2-0.5b-video", "clip-vit-l-336", "llama-7b-image",
            "clip-vit-l-336-x2", "siglip-so400m-1"};
    private static final AttentionMmaWarps[] HALF_VARIANTS = {AttentionMmaWarps.FOUR, AttentionMmaWarps.EIGHT,
            AttentionMmaWarps.FOUR_BY_TWO, AttentionMmaWarps.AUTO16, AttentionMmaWarps.AUTO};

    private PrefillAttentionBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (int s = 0; s < SHAPES.length; s++) {
                int[] shape = SHAPES[s];
                try (Call call = Call.of(gpu, shape[0], shape[1], shape[2], shape[3], shape[4] == 1)) {
                    for (AttentionPrecision precision : AttentionPrecision.values()) {
                        runPrecision(out, gpu, SHAPE_NAMES[s], shape, call, precision);
                        if (precision != AttentionPrecision.F32) {
                            runSmallGrid(out, gpu, SHAPE_NAMES[s], shape, call, precision);
                        }
                    }
                }
            }
        }
    }

    /** One line per variant of {@code precision} on one shape, then (16-bit) its summary line. */
    private static void runPrecision(PrintStream out, CudaBackend gpu, String name, int[] shape, Call call,
                                     AttentionPrecision precision) {
        boolean causal = shape[4] == 1;
        double flops = flops(shape[0], shape[1], shape[3], causal);
        AttentionMmaWarps[] variants = precision == AttentionPrecision.F32
                ? new AttentionMmaWarps[] {AttentionMmaWarps.AUTO}
                : HALF_VARIANTS;
        Map<AttentionMmaWarps, Double> times = new EnumMap<>(AttentionMmaWarps.class);
        for (AttentionMmaWarps variant : variants) {
            double ms = PropertyScope.measure(AttentionMmaWarps.PROPERTY, variant.id(), () -> call.millis(gpu, precision));
            times.put(variant, ms);
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"prefill_attention\",\"impl\":\"glimpse\",\"device\":\"%s\",\"shape\":\"%s\","
                            + "\"tokens\":%d,\"q_heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,\"causal\":%b,"
                            + "\"precision\":\"%s\",\"variant\":\"%s\",\"ms_per_call\":%.4f,\"tflops\":%.1f}",
                    gpu.deviceName(), name, shape[0], shape[1], shape[2], shape[3], causal, precision,
                    precision == AttentionPrecision.F32 ? "tf32" : variant.id(), ms, tflops(flops, ms)));
        }
        if (precision == AttentionPrecision.F32) {
            return;
        }
        double old = times.get(AttentionMmaWarps.AUTO16);
        double twoTile = times.get(AttentionMmaWarps.FOUR_BY_TWO);
        double auto = times.get(AttentionMmaWarps.AUTO);
        out.println(String.format(Locale.ROOT,
                "{\"bench\":\"prefill_attention_summary\",\"device\":\"%s\",\"shape\":\"%s\",\"precision\":\"%s\","
                        + "\"old\":\"auto16\",\"old_ms\":%.4f,\"old_tflops\":%.1f,\"w4x2_ms\":%.4f,\"w4x2_tflops\":%.1f,"
                        + "\"auto_ms\":%.4f,\"auto_tflops\":%.1f,\"speedup_w4x2\":%.3f,\"speedup_auto\":%.3f}",
                gpu.deviceName(), name, precision, old, tflops(flops, old), twoTile, tflops(flops, twoTile), auto,
                tflops(flops, auto), old / twoTile, old / auto));
    }

    /**
     * One line per {@link AttentionSmallGrid} choice of a 16-bit precision on one shape (the block shape
     * property unset: {@code auto}), variant {@code small_grid_<id>}, then a {@code
     * prefill_attention_small_grid_summary} line: {@code off} (today's kernels) against {@code w2},
     * {@code w2s2} and {@code auto}, with the speedups off / new (about 1 where the grid is large and
     * {@code w4} is not chosen, so nothing is replaced).
     */
    private static void runSmallGrid(PrintStream out, CudaBackend gpu, String name, int[] shape, Call call,
                                     AttentionPrecision precision) {
        boolean causal = shape[4] == 1;
        double flops = flops(shape[0], shape[1], shape[3], causal);
        Map<AttentionSmallGrid, Double> times = new EnumMap<>(AttentionSmallGrid.class);
        for (AttentionSmallGrid variant : AttentionSmallGrid.values()) {
            double ms = PropertyScope.measure(AttentionSmallGrid.PROPERTY, variant.id(), () -> call.millis(gpu, precision));
            times.put(variant, ms);
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"prefill_attention\",\"impl\":\"glimpse\",\"device\":\"%s\",\"shape\":\"%s\","
                            + "\"tokens\":%d,\"q_heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,\"causal\":%b,"
                            + "\"precision\":\"%s\",\"variant\":\"small_grid_%s\",\"ms_per_call\":%.4f,\"tflops\":%.1f}",
                    gpu.deviceName(), name, shape[0], shape[1], shape[2], shape[3], causal, precision, variant.id(), ms,
                    tflops(flops, ms)));
        }
        double off = times.get(AttentionSmallGrid.OFF);
        double w2 = times.get(AttentionSmallGrid.TWO_WARPS);
        double w2s2 = times.get(AttentionSmallGrid.KEY_SPLIT);
        double auto = times.get(AttentionSmallGrid.AUTO);
        out.println(String.format(Locale.ROOT,
                "{\"bench\":\"prefill_attention_small_grid_summary\",\"device\":\"%s\",\"shape\":\"%s\","
                        + "\"precision\":\"%s\",\"off_ms\":%.4f,\"w2_ms\":%.4f,\"w2s2_ms\":%.4f,\"auto_ms\":%.4f,"
                        + "\"speedup_w2\":%.3f,\"speedup_w2s2\":%.3f,\"speedup_auto\":%.3f}",
                gpu.deviceName(), name, precision, off, w2, w2s2, auto, off / w2, off / w2s2, off / auto));
    }

    /**
     * Useful flops of one call over {@code t} queries and keys: 2 D per (query, key) pair for each
     * of Q K^T and P V, over t^2 pairs bidirectional or t (t + 1) / 2 causal, per query head.
     */
    static double flops(int t, int hq, int d, boolean causal) {
        double pairs = causal ? t * (t + 1.0) / 2 : (double) t * t;
        return 4.0 * d * pairs * hq;
    }

    private static double tflops(double flops, double ms) {
        return flops / (ms * 1e-3) / 1e12;
    }

    /** One shape's device operands (uniform in [-1, 1)), mask and scale, shared by every variant. */
    private record Call(Tensor q, Tensor k, Tensor v, Tensor out, AttentionMask mask, float scale)
            implements AutoCloseable {

        static Call of(CudaBackend gpu, int t, int hq, int hkv, int d, boolean causal) {
            try (Tensor hostQ = uniform(1, 1f, DType.F32, t, hq, d); Tensor hostK = uniform(2, 1f, DType.F32, t, hkv, d);
                 Tensor hostV = uniform(3, 1f, DType.F32, t, hkv, d)) {
                return new Call(gpu.upload(hostQ), gpu.upload(hostK), gpu.upload(hostV), gpu.allocate(DType.F32, t, hq, d),
                        causal ? AttentionMask.causal(0) : AttentionMask.BIDIRECTIONAL, (float) (1 / Math.sqrt(d)));
            }
        }

        /** Milliseconds per call at {@code precision} (the block shape the property names now). */
        double millis(CudaBackend gpu, AttentionPrecision precision) {
            return BenchClock.nanosPerRun(gpu, WARMUP, CALLS,
                    () -> gpu.attention(q, k, v, mask, scale, out, null, null, precision)) / 1e6;
        }

        @Override
        public void close() {
            q.close();
            k.close();
            v.close();
            out.close();
        }
    }
}
