package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.StepGraph;
import dev.glimpse.kernels.cuda.StepInputs;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Decode attention on the GPU ({@link CudaBackend#decodeAttention}, flash-decoding) over the
 * decoders' shapes: OneVision-0.5B / Qwen2-0.5B (14 query heads over 2 kv heads of dim 64) at a
 * short prompt (600 keys), a long video (6300 keys) and a longer one (16000 keys), and
 * LLaVA-1.5-7B / Llama-7B (32 heads of dim 128) at 600 keys, caches of capacity {@value #CAPACITY}
 * ({@value #LONG_CAPACITY} past it). As in a decode step, the calls are
 * replayed from a CUDA graph with the key count in device memory: one graph of
 * {@value #CALLS_PER_GRAPH} calls (a decoder's layers), replayed {@value #REPLAYS} times after
 * {@value #WARMUP} warm-ups, bracketed by stream synchronisations.
 *
 * <p>Each shape runs six ways: the split and combine kernels ({@code -Dglimpse.cuda.decodeCombine=separate}),
 * the fused kernel ({@code fused}) or the online kernel ({@code -Dglimpse.cuda.decodeAttention=online},
 * which always merges in its last block), each with programmatic dependent launch off and on ({@code -Dglimpse.cuda.pdl}); "separate, pdl
 * off" is the kernel pair before PDL and the fused kernel. Prints one JSON object per line with the
 * time per call (one layer's attention), then one summary line per shape with the speed-up of fused
 * + PDL over "separate, pdl off" and of online + PDL over fused + PDL, then the online kernel with
 * PDL at each grid target of {@link #ONLINE_GRIDS} ({@code -Dglimpse.cuda.decodeOnlineGrid}, blocks per
 * SM x keys per split of a full cache) with its speed-up over fused + PDL.
 *
 * <p>Then the cache's entry type ({@link #CACHE_CASES}: Qwen2-0.5B at 600 and 6300 keys, Llama-7B at
 * 600): the fused split kernel and the online kernel, both with PDL, over an F32 cache and over a
 * BF16 cache (the default for BF16 models on the GPU, {@code -Dglimpse.kvCache}; half the bytes),
 * one JSON line per shape and kernel with both times and the speed-up. For the online kernel a
 * further line times its kernels for 16-bit caches ({@link #ONLINE16_PROPERTY}: {@code current}, the
 * default, {@code passes}, 16-byte key loads for 8-head groups, and {@code passes_early}, which also
 * prefetches each split's chunk into L2 before its grid-dependency wait) over the BF16 cache next to
 * the F32 cache.
 *
 * <p>The wide kernel ({@code -Dglimpse.cuda.decodeAttention=wide}, opt-in): per shape a
 * {@code decode_attention_wide_summary} line (F32 cache, PDL off and on, against the online kernel with
 * PDL) and a {@code decode_attention_wide_grid} line per other target of {@link #WIDE_GRIDS}
 * ({@code -Dglimpse.cuda.decodeWideGrid}); per cache case a {@code decode_attention_wide_cache_summary}
 * line (online and wide over F32 and BF16 caches, the online BF16 kernel being the default
 * {@code passes_early} for 8-head groups).
 */
public final class DecodeAttentionBench {

    static final int CAPACITY = 8192;
    static final int LONG_CAPACITY = 16384;
    /** CudaDecodeAttention's kernel property (split or online). */
    static final String KERNEL_PROPERTY = "glimpse.cuda.decodeAttention";
    static final int CALLS_PER_GRAPH = 32;
    static final int WARMUP = 5;
    static final int REPLAYS = 50;

    /** The split kernel's ways to run it: (combine property, pdl property). The first is the baseline. */
    static final String[][] VARIANTS = {{"separate", "false"}, {"separate", "true"}, {"fused", "false"}, {"fused", "true"}};
    /** OnlineDecodePlan's grid property and the targets the bench sweeps with PDL on (the first is the default). */
    static final String GRID_PROPERTY = "glimpse.cuda.decodeOnlineGrid";
    static final String[] ONLINE_GRIDS = {"1x256", "1x128", "1x512", "2x128", "2x256", "4x128"};
    /** The online kernel's ways: (its own last-block merge, pdl property). */
    static final String[][] ONLINE_VARIANTS = {{"fused", "false"}, {"fused", "true"}};

    /** The online kernel for 16-bit caches of 8-head groups (OnlineDecode16: current, passes, passes_early). */
    static final String ONLINE16_PROPERTY = "glimpse.cuda.decodeOnline16";

    /** (Hq, Hkv, D, keys) of the cache-type comparison. */
    static final int[][] CACHE_CASES = {{14, 2, 64, 600}, {14, 2, 64, 6300}, {32, 32, 128, 600}};

    /** WideDecodePlan's grid property and the targets besides its default (1x64) the bench sweeps for the wide kernel. */
    static final String WIDE_GRID_PROPERTY = "glimpse.cuda.decodeWideGrid";
    static final String[] WIDE_GRIDS = {"2x64", "1x192", "1x256", "1x512"};

    private DecodeAttentionBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            int[][] cases = {{14, 2, 64, 600}, {14, 2, 64, 6300}, {14, 2, 64, 16000}, {32, 32, 128, 600}};
            for (int[] c : cases) {
                int capacity = c[3] <= CAPACITY ? CAPACITY : LONG_CAPACITY;
                double[] us = new double[VARIANTS.length + ONLINE_VARIANTS.length];
                for (int i = 0; i < us.length; i++) {
                    String kernel = i < VARIANTS.length ? "split" : "online";
                    String[] variant = i < VARIANTS.length ? VARIANTS[i] : ONLINE_VARIANTS[i - VARIANTS.length];
                    us[i] = withKernel(kernel, () -> withVariant(variant,
                            () -> measure(gpu, c[0], c[1], c[2], capacity, c[3])));
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_attention\",\"impl\":\"glimpse\",\"device\":\"%s\",\"q_heads\":%d,"
                                    + "\"kv_heads\":%d,\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"kernel\":\"%s\","
                                    + "\"combine\":\"%s\",\"pdl\":%s,\"pdl_supported\":%s,\"us_per_call\":%.2f}",
                            gpu.deviceName(), c[0], c[1], c[2], capacity, c[3], kernel, variant[0], variant[1],
                            gpu.programmaticLaunches(), us[i]));
                }
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"decode_attention_summary\",\"q_heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,"
                                + "\"keys\":%d,\"us_separate\":%.2f,\"us_separate_pdl\":%.2f,\"us_fused\":%.2f,"
                                + "\"us_fused_pdl\":%.2f,\"us_online\":%.2f,\"us_online_pdl\":%.2f,"
                                + "\"speedup_fused_pdl\":%.2f,\"speedup_online_pdl_vs_fused_pdl\":%.2f}",
                        c[0], c[1], c[2], c[3], us[0], us[1], us[2], us[3], us[4], us[5], us[0] / us[3],
                        us[3] / us[5]));
                for (String grid : ONLINE_GRIDS) {
                    double g = withProperty(GRID_PROPERTY, grid, () -> withKernel("online",
                            () -> withVariant(ONLINE_VARIANTS[1], () -> measure(gpu, c[0], c[1], c[2], capacity, c[3]))));
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_attention_online_grid\",\"q_heads\":%d,\"kv_heads\":%d,"
                                    + "\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"grid\":\"%s\",\"pdl\":true,"
                                    + "\"us_per_call\":%.2f,\"speedup_vs_fused_pdl\":%.2f}",
                            c[0], c[1], c[2], capacity, c[3], grid, g, us[3] / g));
                }
                printWide(out, gpu, c, capacity, us[5]);
            }
            for (int[] c : CACHE_CASES) {
                double onlineF32 = 0;
                double onlineBf16 = 0;
                for (String kernel : new String[] {"split", "online"}) {
                    String[] variant = kernel.equals("split") ? VARIANTS[3] : ONLINE_VARIANTS[1];
                    double f32 = withKernel(kernel, () -> withVariant(variant,
                            () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.F32)));
                    double bf16 = withKernel(kernel, () -> withVariant(variant,
                            () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.BF16)));
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_attention_cache_summary\",\"device\":\"%s\",\"q_heads\":%d,"
                                    + "\"kv_heads\":%d,\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"kernel\":\"%s\","
                                    + "\"pdl\":true,\"us_f32_cache\":%.2f,\"us_bf16_cache\":%.2f,\"speedup_bf16\":%.2f}",
                            gpu.deviceName(), c[0], c[1], c[2], CAPACITY, c[3], kernel, f32, bf16, f32 / bf16));
                    if (kernel.equals("online")) {
                        onlineF32 = f32;
                        onlineBf16 = bf16;
                        double passes = withProperty(ONLINE16_PROPERTY, "passes", () -> withKernel(kernel,
                                () -> withVariant(variant, () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.BF16))));
                        double early = withProperty(ONLINE16_PROPERTY, "passes_early", () -> withKernel(kernel,
                                () -> withVariant(variant, () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.BF16))));
                        out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"decode_attention_online16_summary\",\"device\":\"%s\",\"q_heads\":%d,"
                                        + "\"kv_heads\":%d,\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"pdl\":true,"
                                        + "\"us_f32_cache\":%.2f,\"us_bf16_current\":%.2f,\"us_bf16_passes\":%.2f,"
                                        + "\"us_bf16_passes_early\":%.2f,\"speedup_passes_vs_current\":%.2f,"
                                        + "\"speedup_passes_early_vs_current\":%.2f,\"speedup_passes_early_vs_f32\":%.2f}",
                                gpu.deviceName(), c[0], c[1], c[2], CAPACITY, c[3], f32, bf16, passes, early,
                                bf16 / passes, bf16 / early, f32 / early));
                    }
                }
                double wideF32 = withKernel("wide", () -> withVariant(ONLINE_VARIANTS[1],
                        () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.F32)));
                double wideBf16 = withKernel("wide", () -> withVariant(ONLINE_VARIANTS[1],
                        () -> measure(gpu, c[0], c[1], c[2], CAPACITY, c[3], DType.BF16)));
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"decode_attention_wide_cache_summary\",\"device\":\"%s\",\"q_heads\":%d,"
                                + "\"kv_heads\":%d,\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"pdl\":true,"
                                + "\"us_online_f32\":%.2f,\"us_online_bf16\":%.2f,\"us_wide_f32\":%.2f,"
                                + "\"us_wide_bf16\":%.2f,\"speedup_wide_vs_online_f32\":%.2f,"
                                + "\"speedup_wide_vs_online_bf16\":%.2f,\"speedup_wide_bf16_vs_wide_f32\":%.2f}",
                        gpu.deviceName(), c[0], c[1], c[2], CAPACITY, c[3], onlineF32, onlineBf16, wideF32, wideBf16,
                        onlineF32 / wideF32, onlineBf16 / wideBf16, wideF32 / wideBf16));
            }
        }
    }

    /**
     * The wide kernel ({@code -Dglimpse.cuda.decodeAttention=wide}) over an F32 cache against the
     * online kernel's time with PDL ({@code online}): one summary line with PDL off and on (the default
     * grid), then one line per other grid target of {@link #WIDE_GRIDS}.
     */
    private static void printWide(PrintStream out, CudaBackend gpu, int[] c, int capacity, double online) {
        double plain = withKernel("wide", () -> withVariant(ONLINE_VARIANTS[0],
                () -> measure(gpu, c[0], c[1], c[2], capacity, c[3])));
        double pdl = withKernel("wide", () -> withVariant(ONLINE_VARIANTS[1],
                () -> measure(gpu, c[0], c[1], c[2], capacity, c[3])));
        out.println(String.format(Locale.ROOT,
                "{\"bench\":\"decode_attention_wide_summary\",\"device\":\"%s\",\"q_heads\":%d,\"kv_heads\":%d,"
                        + "\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"us_online_pdl\":%.2f,\"us_wide\":%.2f,"
                        + "\"us_wide_pdl\":%.2f,\"speedup_wide_pdl_vs_online_pdl\":%.2f}",
                gpu.deviceName(), c[0], c[1], c[2], capacity, c[3], online, plain, pdl, online / pdl));
        for (String grid : WIDE_GRIDS) {
            double g = withProperty(WIDE_GRID_PROPERTY, grid, () -> withKernel("wide",
                    () -> withVariant(ONLINE_VARIANTS[1], () -> measure(gpu, c[0], c[1], c[2], capacity, c[3]))));
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"decode_attention_wide_grid\",\"q_heads\":%d,\"kv_heads\":%d,\"head_dim\":%d,"
                            + "\"capacity\":%d,\"keys\":%d,\"grid\":\"%s\",\"pdl\":true,\"us_per_call\":%.2f,"
                            + "\"speedup_vs_online_pdl\":%.2f}",
                    c[0], c[1], c[2], capacity, c[3], grid, g, online / g));
        }
    }

    /** Runs body with the variant's properties set, restoring them after. */
    static double withVariant(String[] variant, java.util.function.DoubleSupplier body) {
        String oldCombine = System.getProperty(CudaBackend.DECODE_COMBINE_PROPERTY);
        String oldPdl = System.getProperty(CudaBackend.PDL_PROPERTY);
        System.setProperty(CudaBackend.DECODE_COMBINE_PROPERTY, variant[0]);
        System.setProperty(CudaBackend.PDL_PROPERTY, variant[1]);
        try {
            return body.getAsDouble();
        } finally {
            restore(CudaBackend.DECODE_COMBINE_PROPERTY, oldCombine);
            restore(CudaBackend.PDL_PROPERTY, oldPdl);
        }
    }

    /** Runs body with decode attention's kernel property set (split or online), restoring it after. */
    static double withKernel(String kernel, java.util.function.DoubleSupplier body) {
        return withProperty(KERNEL_PROPERTY, kernel, body);
    }

    private static double withProperty(String key, String value, java.util.function.DoubleSupplier body) {
        String old = System.getProperty(key);
        System.setProperty(key, value);
        try {
            return body.getAsDouble();
        } finally {
            restore(key, old);
        }
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    private static double measure(CudaBackend gpu, int hq, int hkv, int d, int capacity, int keys) {
        return measure(gpu, hq, hkv, d, capacity, keys, DType.F32);
    }

    /** Microseconds per call over caches of {@code cache} entries (F32, BF16 or F16). */
    private static double measure(CudaBackend gpu, int hq, int hkv, int d, int capacity, int keys, DType cache) {
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor hostQ = random(1, hq * d, 1, hq, d);
             Tensor hostK = as(cache, random(2, hkv * capacity * d, hkv, capacity, d));
             Tensor hostV = as(cache, random(3, hkv * capacity * d, hkv, capacity, d));
             Tensor q = gpu.upload(hostQ); Tensor keyCache = gpu.upload(hostK); Tensor valueCache = gpu.upload(hostV);
             Tensor out = gpu.allocate(DType.F32, 1, hq, d); StepInputs count = gpu.stepInputs(1)) {
            count.set(0, keys);
            gpu.upload(count);
            gpu.decodeAttention(q, keyCache, valueCache, count.cell(0), scale, out);
            try (StepGraph graph = gpu.capture(() -> {
                gpu.upload(count);
                for (int i = 0; i < CALLS_PER_GRAPH; i++) {
                    gpu.decodeAttention(q, keyCache, valueCache, count.cell(0), scale, out);
                }
            })) {
                for (int i = 0; i < WARMUP; i++) {
                    gpu.launch(graph);
                }
                gpu.synchronize();
                long start = System.nanoTime();
                for (int i = 0; i < REPLAYS; i++) {
                    gpu.launch(graph);
                }
                gpu.synchronize();
                return (System.nanoTime() - start) / 1e3 / REPLAYS / CALLS_PER_GRAPH;
            }
        }
    }

    /** f32 itself for F32, else a copy of it rounded to dtype (f32 is then closed). */
    private static Tensor as(DType dtype, Tensor f32) {
        if (dtype == DType.F32) {
            return f32;
        }
        try (f32) {
            Tensor t = Tensor.allocate(dtype, f32.shape());
            t.copyFrom(f32.toFloatArray());
            return t;
        }
    }

    private static Tensor random(long seed, int n, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, shape);
    }
}
