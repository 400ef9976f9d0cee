package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.SkinnyGemmMode;
import dev.glimpse.kernels.cuda.StepGraph;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/**
 * Prefill linear layers of 9..128 rows ({@link CudaBackend#linear}, BF16 weights, F32 x rounded to
 * BF16 by both paths) on the skinny kernel ({@code -Dglimpse.cuda.skinnyGemm=auto}) against
 * cuBLASLt ({@code off}), at the linear layers of LLaVA-1.5-7B (Llama-7B: q/k/v/o 4096x4096,
 * gate/up 11008x4096, down 4096x11008), Qwen2-0.5B (896x896, 128x896, 4864x896, 896x4864) and
 * CLIP ViT-L (1024x1024, 4096x1024, 1024x4096), for rows {@code 9 16 32 64 74 96 128} (74: the
 * prefill of LLaVA with 64 visual tokens). Arguments, optional, replace the rows.
 *
 * <p>Timing as {@link GemvBench}: each shape rotates over distinct weight copies of at least
 * {@value #ROTATION_BYTES} bytes together (the 50 MB L2 cannot serve them), and a CUDA graph of at
 * least {@value #MIN_CALLS} calls is replayed {@value #WARMUP} times to warm up, then
 * {@value #REPLAYS} times between stream synchronisations; same process, same inputs, both paths.
 * A call's time includes the rounding of x ({@code convert_f32}) and, for a split skinny product,
 * the reduce kernel: everything {@code linear} queues. The same calls are also timed launched op by op
 * (best of 3 synchronized loops), as the eager prefill runs them, where host work per call can set the pace.
 *
 * <p>Prints one JSON line per shape and row count ({@code "bench":"skinny_gemm"}: us per call, weight
 * GB/s and fraction of {@value #HBM_BYTES_PER_S} B/s for both paths, {@code speedup} = cuBLASLt
 * time / skinny time, and the eager times and their ratio {@code eager_speedup}), one line per shape with the largest row count at which the skinny kernel
 * wins ({@code "bench":"skinny_gemm_crossover"}, 0 when it never does), and a final
 * {@code "bench":"skinny_gemm_summary"} line with the largest row count at which it wins on every
 * shape and the summed linear time of one Llama-7B layer at each row count for both paths. Before
 * the summary, {@code "bench":"skinny_gemm_splits"} lines time the skinny kernel on the Llama-7B
 * shapes at 74 rows with the k split forced to 1..32 ({@code -Dglimpse.cuda.skinnyGemm.splits}).
 */
public final class SkinnyGemmBench {

    static final double HBM_BYTES_PER_S = 4.8e12;
    static final long ROTATION_BYTES = 200L << 20;
    static final int MIN_CALLS = 100;
    static final int WARMUP = 3;
    static final int REPLAYS = 10;

    private static final int[] DEFAULT_ROWS = {9, 16, 32, 64, 74, 96, 128};

    /** Rows of the split sweep: LLaVA-1.5-7B's prefill with 64 visual tokens. */
    private static final int SWEEP_ROWS = 74;

    /** Forced k splits of the sweep (the slices are still at least one 128-k chunk each). */
    private static final int[] SWEEP_SPLITS = {1, 2, 4, 8, 16, 32};

    /** A linear layer: n output features, k inputs; {@code perLayer} calls of it in one decoder layer. */
    record Shape(String model, String layer, int n, int k, int perLayer) {
        long weightBytes() {
            return (long) n * k * DType.BF16.byteSize();
        }
    }

    private static final List<Shape> SHAPES = List.of(
            new Shape("llava-1.5-7b", "q_k_v_o", 4096, 4096, 4), new Shape("llava-1.5-7b", "gate_up", 11008, 4096, 2),
            new Shape("llava-1.5-7b", "down", 4096, 11008, 1),
            new Shape("qwen2-0.5b", "q_o", 896, 896, 2), new Shape("qwen2-0.5b", "k_v", 128, 896, 2),
            new Shape("qwen2-0.5b", "gate_up", 4864, 896, 2), new Shape("qwen2-0.5b", "down", 896, 4864, 1),
            new Shape("clip-vit-l", "q_k_v_o", 1024, 1024, 4), new Shape("clip-vit-l", "fc1", 4096, 1024, 1),
            new Shape("clip-vit-l", "fc2", 1024, 4096, 1));

    private SkinnyGemmBench() {
    }

    public static void main(String[] args) {
        int[] rows = args.length == 0 ? DEFAULT_ROWS : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        run(System.out, rows);
    }

    static void run(PrintStream out, int[] rows) {
        String before = System.getProperty(SkinnyGemmMode.PROPERTY);
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            Map<Integer, Boolean> winsEverywhere = new LinkedHashMap<>();
            Map<Integer, double[]> llamaLayerUs = new LinkedHashMap<>();
            for (Shape shape : SHAPES) {
                int largestWin = 0;
                List<Integer> wins = new ArrayList<>();
                try (Weights weights = Weights.rotation(gpu, shape)) {
                    for (int m : rows) {
                        double skinnyUs;
                        double ltUs;
                        double skinnyEagerUs;
                        double ltEagerUs;
                        try (Tensor hostX = random(7L * m, 1f, m, shape.k()); Tensor x = gpu.upload(hostX);
                             Tensor o = gpu.allocate(DType.F32, m, shape.n())) {
                            skinnyUs = measure(gpu, SkinnyGemmMode.AUTO, weights.copies(), x, o);
                            ltUs = measure(gpu, SkinnyGemmMode.OFF, weights.copies(), x, o);
                            skinnyEagerUs = measureEager(gpu, SkinnyGemmMode.AUTO, weights.copies(), x, o);
                            ltEagerUs = measureEager(gpu, SkinnyGemmMode.OFF, weights.copies(), x, o);
                        }
                        boolean win = skinnyUs < ltUs;
                        if (win) {
                            largestWin = m;
                            wins.add(m);
                        }
                        winsEverywhere.merge(m, win, Boolean::logicalAnd);
                        if (shape.model().equals("llava-1.5-7b")) {
                            double[] layer = llamaLayerUs.computeIfAbsent(m, r -> new double[2]);
                            layer[0] += shape.perLayer() * skinnyUs;
                            layer[1] += shape.perLayer() * ltUs;
                        }
                        double skinnyBw = shape.weightBytes() / (skinnyUs * 1e-6);
                        double ltBw = shape.weightBytes() / (ltUs * 1e-6);
                        out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"skinny_gemm\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"n\":%d,\"k\":%d,"
                                        + "\"m\":%d,\"copies\":%d,\"skinny_us\":%.2f,\"cublaslt_us\":%.2f,\"skinny_gb_per_s\":%.1f,"
                                        + "\"cublaslt_gb_per_s\":%.1f,\"skinny_hbm_fraction\":%.3f,\"cublaslt_hbm_fraction\":%.3f,"
                                        + "\"speedup\":%.3f,\"skinny_eager_us\":%.2f,\"cublaslt_eager_us\":%.2f,"
                                        + "\"eager_speedup\":%.3f}",
                                gpu.deviceName(), shape.model(), shape.layer(), shape.n(), shape.k(), m, weights.copies().size(),
                                skinnyUs, ltUs, skinnyBw / 1e9, ltBw / 1e9, skinnyBw / HBM_BYTES_PER_S, ltBw / HBM_BYTES_PER_S,
                                ltUs / skinnyUs, skinnyEagerUs, ltEagerUs, ltEagerUs / skinnyEagerUs));
                    }
                }
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"skinny_gemm_crossover\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"n\":%d,\"k\":%d,"
                                + "\"largest_m_skinny_wins\":%d,\"skinny_wins_at\":[%s]}",
                        gpu.deviceName(), shape.model(), shape.layer(), shape.n(), shape.k(), largestWin,
                        wins.stream().map(String::valueOf).collect(Collectors.joining(","))));
            }
            sweepSplits(out, gpu);
            int everywhere = 0;
            for (int m : rows) {
                if (winsEverywhere.getOrDefault(m, false)) {
                    everywhere = Math.max(everywhere, m);
                }
            }
            String layers = llamaLayerUs.entrySet().stream()
                    .map(e -> String.format(Locale.ROOT, "\"%d\":{\"skinny\":%.2f,\"cublaslt\":%.2f}", e.getKey(), e.getValue()[0],
                            e.getValue()[1]))
                    .collect(Collectors.joining(","));
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"skinny_gemm_summary\",\"device\":\"%s\",\"default_max_rows\":%d,"
                            + "\"largest_m_skinny_wins_on_every_shape\":%d,\"llama7b_layer_linear_us\":{%s}}",
                    gpu.deviceName(), SkinnyGemmMode.DEFAULT_MAX_ROWS, everywhere, layers));
        } finally {
            if (before == null) {
                System.clearProperty(SkinnyGemmMode.PROPERTY);
            } else {
                System.setProperty(SkinnyGemmMode.PROPERTY, before);
            }
            System.clearProperty(SkinnyGemmMode.SPLITS_PROPERTY);
        }
    }

    /**
     * The skinny kernel on the Llama-7B shapes at {@value #SWEEP_ROWS} rows with the k split forced to
     * each of {@link #SWEEP_SPLITS} ({@code -Dglimpse.cuda.skinnyGemm.splits}), one
     * {@code "bench":"skinny_gemm_splits"} line each: the data to tune the automatic split of {@code SkinnyGemmPlan}.
     */
    private static void sweepSplits(PrintStream out, CudaBackend gpu) {
        for (Shape shape : SHAPES) {
            if (!shape.model().equals("llava-1.5-7b")) {
                continue;
            }
            try (Weights weights = Weights.rotation(gpu, shape);
                 Tensor hostX = random(7L * SWEEP_ROWS, 1f, SWEEP_ROWS, shape.k()); Tensor x = gpu.upload(hostX);
                 Tensor o = gpu.allocate(DType.F32, SWEEP_ROWS, shape.n())) {
                for (int splits : SWEEP_SPLITS) {
                    System.setProperty(SkinnyGemmMode.SPLITS_PROPERTY, Integer.toString(splits));
                    double us = measure(gpu, SkinnyGemmMode.AUTO, weights.copies(), x, o);
                    double bw = shape.weightBytes() / (us * 1e-6);
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"skinny_gemm_splits\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"n\":%d,"
                                    + "\"k\":%d,\"m\":%d,\"splits\":%d,\"skinny_us\":%.2f,\"skinny_gb_per_s\":%.1f,"
                                    + "\"skinny_hbm_fraction\":%.3f}",
                            gpu.deviceName(), shape.model(), shape.layer(), shape.n(), shape.k(), SWEEP_ROWS, splits, us, bw / 1e9,
                            bw / HBM_BYTES_PER_S));
                }
            } finally {
                System.clearProperty(SkinnyGemmMode.SPLITS_PROPERTY);
            }
        }
    }

    /** us per call of mode over the rotation: a graph of calls cycling through the copies, replayed. */
    private static double measure(CudaBackend gpu, SkinnyGemmMode mode, List<Tensor> copies, Tensor x, Tensor out) {
        System.setProperty(SkinnyGemmMode.PROPERTY, mode.id());
        int calls = copies.size() * ((MIN_CALLS + copies.size() - 1) / copies.size());
        for (Tensor w : copies) {
            gpu.linear(x, w, null, out);
        }
        try (StepGraph graph = gpu.capture(() -> {
            for (int i = 0; i < calls; i++) {
                gpu.linear(x, copies.get(i % copies.size()), null, out);
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
            return (System.nanoTime() - start) / 1e3 / REPLAYS / calls;
        }
    }

    /**
     * us per call of mode launched op by op, as an eager prefill does: the calls' host work (launches,
     * scratch allocations) overlaps the device's, and the slower of the two sets the pace.
     */
    private static double measureEager(CudaBackend gpu, SkinnyGemmMode mode, List<Tensor> copies, Tensor x, Tensor out) {
        System.setProperty(SkinnyGemmMode.PROPERTY, mode.id());
        int calls = copies.size() * ((MIN_CALLS + copies.size() - 1) / copies.size());
        for (int i = 0; i < copies.size(); i++) {
            gpu.linear(x, copies.get(i), null, out);
        }
        gpu.synchronize();
        long best = Long.MAX_VALUE;
        for (int r = 0; r < 3; r++) {
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                gpu.linear(x, copies.get(i % copies.size()), null, out);
            }
            gpu.synchronize();
            best = Math.min(best, System.nanoTime() - start);
        }
        return best / 1e3 / calls;
    }

    /** Distinct device copies of one random BF16 weight matrix (at least {@value #ROTATION_BYTES} bytes together). */
    private record Weights(List<Tensor> copies) implements AutoCloseable {

        static Weights rotation(CudaBackend gpu, Shape shape) {
            int count = (int) Math.max(1, (ROTATION_BYTES + shape.weightBytes() - 1) / shape.weightBytes());
            List<Tensor> copies = new ArrayList<>();
            try (Tensor host = random(shape.n() * 31L + shape.k(), 0.05f, shape.n(), shape.k())) {
                try (Tensor bf16 = Tensor.allocate(DType.BF16, shape.n(), shape.k())) {
                    bf16.copyFrom(host.toFloatArray());
                    Tensor first = gpu.upload(bf16);
                    copies.add(first);
                }
                for (int i = 1; i < count; i++) {
                    Tensor copy = gpu.allocate(DType.BF16, shape.n(), shape.k());
                    gpu.copy(copies.getFirst(), copy);
                    copies.add(copy);
                }
                return new Weights(copies);
            }
        }

        @Override
        public void close() {
            copies.forEach(Tensor::close);
        }
    }

    private static Tensor random(long seed, float scale, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(DType.F32, shape);
        float[] values = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        t.copyFrom(values);
        return t;
    }
}
