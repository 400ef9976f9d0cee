package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.AttentionMmaWarps;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Prefill attention on the GPU ({@link CudaBackend#attention}, the tensor-core kernels) at every
 * {@link AttentionPrecision} (F32: the 3xTF32 kernel; BF16 and F16: the 16-bit mma kernel) over
 * the shapes that dominate time to first token: OneVision's SigLIP
 * tower on a 32-frame video (729 tokens, 32 frames x 16 heads of dim 72, bidirectional), its Qwen2
 * decoder's prefill of that video (6296 tokens, 14 query heads over 2 kv heads of dim 64, causal) and
 * LLaVA-1.5-7B's prefill of one image (586 tokens, 32 heads of dim 128, causal). Each shape runs
 * {@value #WARMUP} warm-up calls, then {@value #CALLS} calls bracketed by stream synchronisations.
 * BF16 and F16 run once with 4 and once with 8 warps per block ({@link AttentionMmaWarps}; the
 * default picks one of the two by shape), so one run compares them side by side; the
 * {@code variant} field names the warps ({@code "w4"}, {@code "w8"}; {@code "tf32"} for F32), and
 * the property is restored after.
 * Prints one JSON object per line with the time per call and the tensor-core rate it implies:
 * 4 T S D flops per query head for Q K^T and P V over the visible (query, key) pairs, about half of
 * them when causal.
 */
public final class PrefillAttentionBench {

    static final int WARMUP = 3;
    static final int CALLS = 20;
    /** {tokens, query heads, kv heads, head dim, causal (1) or bidirectional (0)}. */
    private static final int[][] SHAPES = {{729, 512, 512, 72, 0}, {6296, 14, 2, 64, 1}, {586, 32, 32, 128, 1}};

    private PrefillAttentionBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        String previous = System.getProperty(AttentionMmaWarps.PROPERTY);
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (int[] shape : SHAPES) {
                for (AttentionPrecision precision : AttentionPrecision.values()) {
                    AttentionMmaWarps[] variants = precision == AttentionPrecision.F32
                            ? new AttentionMmaWarps[] {AttentionMmaWarps.AUTO}
                            : new AttentionMmaWarps[] {AttentionMmaWarps.FOUR, AttentionMmaWarps.EIGHT};
                    for (AttentionMmaWarps variant : variants) {
                        System.setProperty(AttentionMmaWarps.PROPERTY, variant.id());
                        boolean causal = shape[4] == 1;
                        double ms = measure(gpu, shape[0], shape[1], shape[2], shape[3], causal, precision);
                        double tflops = flops(shape[0], shape[1], shape[3], causal) / (ms * 1e-3) / 1e12;
                        out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"prefill_attention\",\"impl\":\"glimpse\",\"device\":\"%s\",\"tokens\":%d,"
                                        + "\"q_heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,\"causal\":%b,\"precision\":\"%s\","
                                        + "\"variant\":\"%s\",\"ms_per_call\":%.3f,\"tflops\":%.1f}",
                                gpu.deviceName(), shape[0], shape[1], shape[2], shape[3], causal, precision,
                                precision == AttentionPrecision.F32 ? "tf32" : variant.id(), ms, tflops));
                    }
                }
            }
        } finally {
            if (previous == null) {
                System.clearProperty(AttentionMmaWarps.PROPERTY);
            } else {
                System.setProperty(AttentionMmaWarps.PROPERTY, previous);
            }
        }
    }

    /**
     * Useful flops of one call over {@code t} queries and keys: 2 D per (query, key) pair for each
     * of Q K^T and P V, over t^2 pairs bidirectional or t (t + 1) / 2 causal, per query head.
     */
    static double flops(int t, int hq, int d, boolean causal) {
        double pairs = causal ? t * (t + 1.0) / 2 : (double) t * t;
        return 4.0 * d * pairs * hq;
    }

    private static double measure(CudaBackend gpu, int t, int hq, int hkv, int d, boolean causal,
                                  AttentionPrecision precision) {
        float scale = (float) (1 / Math.sqrt(d));
        AttentionMask mask = causal ? AttentionMask.causal(0) : AttentionMask.BIDIRECTIONAL;
        try (Tensor hostQ = random(1, t, hq, d); Tensor hostK = random(2, t, hkv, d); Tensor hostV = random(3, t, hkv, d);
             Tensor q = gpu.upload(hostQ); Tensor k = gpu.upload(hostK); Tensor v = gpu.upload(hostV);
             Tensor out = gpu.allocate(DType.F32, t, hq, d)) {
            for (int i = 0; i < WARMUP; i++) {
                gpu.attention(q, k, v, mask, scale, out, null, null, precision);
            }
            gpu.synchronize();
            long start = System.nanoTime();
            for (int i = 0; i < CALLS; i++) {
                gpu.attention(q, k, v, mask, scale, out, null, null, precision);
            }
            gpu.synchronize();
            return (System.nanoTime() - start) / 1e6 / CALLS;
        }
    }

    private static Tensor random(long seed, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] values = new float[shape[0] * shape[1] * shape[2]];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, shape);
    }
}
