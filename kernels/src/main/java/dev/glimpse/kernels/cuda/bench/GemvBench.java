package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.GemvVariant;
import dev.glimpse.kernels.cuda.StepGraph;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.glimpse.kernels.cuda.bench.BenchTensors.uniform;

/**
 * Decode GEMVs ({@link CudaBackend#linear} with BF16 weights and 1 or 4 rows of F32 x) for both
 * {@link GemvVariant}s (the multi4 decode kernel and the warp kernel that unaligned shapes fall back
 * to, on its vector path here), at the linear layers of LLaVA-1.5-7B (Llama-7B: q/k/v/o 4096x4096, gate/up
 * 11008x4096, down 4096x11008, lm_head 32000x4096) and Qwen2-0.5B (896x896, 128x896, 4864x896,
 * 896x4864, lm_head 151936x896).
 *
 * <p>Each shape rotates over enough distinct weight copies (at least {@value #ROTATION_BYTES}
 * bytes together) that the 60 MiB L2 cannot serve them, so the time is the time to stream weights
 * from HBM. The calls are replayed from a CUDA graph, as in a decode step: a graph of at least
 * {@value #MIN_CALLS} calls, {@value #WARMUP} warm-up replays, then {@value #REPLAYS} replays
 * bracketed by stream synchronisations (the backend keeps its stream to itself, so the clock is
 * the host's; the synchronisation is one in hundreds of calls). The variant is switched through
 * {@code -Dglimpse.cuda.gemv}, which the backend reads at every launch.
 *
 * <p>Prints one JSON line per shape and variant (us per call, weight GB/s, fraction of
 * {@value #HBM_BYTES_PER_S} B/s), then per variant the GEMV time of one decoded Llama-7B token:
 * summed from the shapes ({@code "bench":"gemv_token_sum"}, one layer's 7 GEMVs as {@code layer_us})
 * and measured as one graph of 32 layers' 7 GEMVs plus lm_head over distinct weights
 * ({@code "bench":"gemv_token_graph"}, 13.2 GB), and a final {@code "bench":"gemv_summary"} line
 * naming the variant with the fastest token graph. Shapes of at most {@value #L2_HOT_MAX_BYTES} bytes of weights
 * (Qwen2-0.5B's, lm_head aside) also get a {@code "bench":"gemv_l2"} line: the same GEMV with
 * its weights from HBM ({@code cold_us}, the rotation) and from L2 ({@code hot_us}, one copy) and their ratio.
 */
public final class GemvBench {

    static final double HBM_BYTES_PER_S = 4.8e12;
    static final long ROTATION_BYTES = 200L << 20;
    static final int MIN_CALLS = 200;
    static final int WARMUP = 3;
    static final int REPLAYS = 10;
    static final int LAYERS = 32;
    /**
     * Shapes whose weights take at most this many bytes are also timed L2-hot (one copy, called over and over; the
     * H200's L2 is 60 MiB): a {@code gemv_l2} line with both times, which says how much a GEMV could gain from
     * weights already in L2 (an L2 prefetch of a Qwen2-0.5B layer's weights measured slower, session 12).
     */
    static final long L2_HOT_MAX_BYTES = 24L << 20;

    /** A decode linear layer: n output features, k inputs, rows of x. */
    record Shape(String model, String layer, int n, int k, int rows) {
        long weightBytes() {
            return (long) n * k * DType.BF16.byteSize();
        }
    }

    private static final Shape Q = new Shape("llava-1.5-7b", "q_k_v_o", 4096, 4096, 1);
    private static final Shape UP = new Shape("llava-1.5-7b", "gate_up", 11008, 4096, 1);
    private static final Shape DOWN = new Shape("llava-1.5-7b", "down", 4096, 11008, 1);
    private static final Shape HEAD = new Shape("llava-1.5-7b", "lm_head", 32000, 4096, 1);
    private static final List<Shape> SHAPES = List.of(Q, UP, DOWN, HEAD,
            new Shape("qwen2-0.5b", "q_o", 896, 896, 1), new Shape("qwen2-0.5b", "k_v", 128, 896, 1),
            new Shape("qwen2-0.5b", "gate_up", 4864, 896, 1), new Shape("qwen2-0.5b", "down", 896, 4864, 1),
            new Shape("qwen2-0.5b", "lm_head", 151936, 896, 1),
            new Shape("llava-1.5-7b", "q_k_v_o", 4096, 4096, 4), new Shape("llava-1.5-7b", "gate_up", 11008, 4096, 4));

    private GemvBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            Map<GemvVariant, Map<Shape, Double>> times = new EnumMap<>(GemvVariant.class);
            for (Shape shape : SHAPES) {
                try (Weights weights = Weights.rotation(gpu, shape)) {
                    for (GemvVariant variant : GemvVariant.values()) {
                        double us = measure(gpu, variant, weights, weights.copies());
                        times.computeIfAbsent(variant, v -> new HashMap<>()).put(shape, us);
                        double bytesPerS = shape.weightBytes() / (us * 1e-6);
                        out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"gemv\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"n\":%d,\"k\":%d,"
                                        + "\"rows\":%d,\"variant\":\"%s\",\"copies\":%d,\"us_per_call\":%.2f,\"gb_per_s\":%.1f,"
                                        + "\"hbm_fraction\":%.3f}",
                                gpu.deviceName(), shape.model(), shape.layer(), shape.n(), shape.k(), shape.rows(),
                                variant.id(), weights.copies().size(), us, bytesPerS / 1e9, bytesPerS / HBM_BYTES_PER_S));
                        if (shape.weightBytes() <= L2_HOT_MAX_BYTES) {
                            double hotUs = measure(gpu, variant, weights, weights.copies().subList(0, 1));
                            out.println(String.format(Locale.ROOT,
                                    "{\"bench\":\"gemv_l2\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"n\":%d,"
                                            + "\"k\":%d,\"rows\":%d,\"variant\":\"%s\",\"cold_us\":%.2f,\"hot_us\":%.2f,"
                                            + "\"hot_over_cold\":%.3f}",
                                    gpu.deviceName(), shape.model(), shape.layer(), shape.n(), shape.k(), shape.rows(),
                                    variant.id(), us, hotUs, hotUs / us));
                        }
                    }
                }
            }
            long tokenBytes = LAYERS * (4 * Q.weightBytes() + 2 * UP.weightBytes() + DOWN.weightBytes()) + HEAD.weightBytes();
            Map<GemvVariant, Double> graphMs = new EnumMap<>(GemvVariant.class);
            try (TokenWeights token = TokenWeights.allocate(gpu)) {
                for (GemvVariant variant : GemvVariant.values()) {
                    Map<Shape, Double> t = times.get(variant);
                    double layerUs = 4 * t.get(Q) + 2 * t.get(UP) + t.get(DOWN);
                    double sumMs = (LAYERS * layerUs + t.get(HEAD)) / 1e3;
                    out.println(tokenLine("gemv_token_sum", gpu, variant, sumMs, tokenBytes,
                            String.format(Locale.ROOT, ",\"layer_us\":%.2f", layerUs)));
                    double ms = token.measure(gpu, variant);
                    graphMs.put(variant, ms);
                    out.println(tokenLine("gemv_token_graph", gpu, variant, ms, tokenBytes, ""));
                }
            }
            GemvVariant best = graphMs.entrySet().stream().min(Map.Entry.comparingByValue()).orElseThrow().getKey();
            StringBuilder perVariant = new StringBuilder();
            for (Map.Entry<GemvVariant, Double> e : graphMs.entrySet()) {
                perVariant.append(perVariant.isEmpty() ? "" : ",").append(String.format(Locale.ROOT, "\"%s\":%.3f",
                        e.getKey().id(), e.getValue()));
            }
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"gemv_summary\",\"device\":\"%s\",\"default\":\"%s\",\"best\":\"%s\",\"best_ms_per_token\":%.3f,"
                            + "\"best_hbm_fraction\":%.3f,\"ms_per_token\":{%s}}",
                    gpu.deviceName(), GemvVariant.DEFAULT.id(), best.id(), graphMs.get(best),
                    tokenBytes / (graphMs.get(best) * 1e-3) / HBM_BYTES_PER_S, perVariant));
        } finally {
            System.clearProperty(GemvVariant.PROPERTY);
        }
    }

    /** One JSON line of a token's GEMV time; extra holds further fields, each starting with a comma. */
    private static String tokenLine(String bench, CudaBackend gpu, GemvVariant variant, double ms, long bytes, String extra) {
        return String.format(Locale.ROOT,
                "{\"bench\":\"%s\",\"device\":\"%s\",\"model\":\"llava-1.5-7b\",\"variant\":\"%s\",\"layers\":%d,"
                        + "\"weight_gb\":%.2f,\"ms_per_token\":%.3f,\"hbm_fraction\":%.3f%s}",
                bench, gpu.deviceName(), variant.id(), LAYERS, bytes / 1e9, ms, bytes / (ms * 1e-3) / HBM_BYTES_PER_S, extra);
    }

    /**
     * us per call of variant over {@code copies} (the rotation: weights from HBM; one copy: from L2 once the first
     * calls have read it, where it fits): a graph of calls cycling through the copies, replayed.
     */
    private static double measure(CudaBackend gpu, GemvVariant variant, Weights weights, List<Tensor> copies) {
        System.setProperty(GemvVariant.PROPERTY, variant.id());
        int calls = copies.size() * ((MIN_CALLS + copies.size() - 1) / copies.size());
        for (Tensor w : copies) {
            gpu.linear(weights.x(), w, null, weights.out());
        }
        try (StepGraph graph = gpu.capture(() -> {
            for (int i = 0; i < calls; i++) {
                gpu.linear(weights.x(), copies.get(i % copies.size()), null, weights.out());
            }
        })) {
            return BenchClock.nanosPerRun(gpu, WARMUP, REPLAYS, () -> gpu.launch(graph)) / 1e3 / calls;
        }
    }

    /** Distinct device copies of one random BF16 weight matrix, with x and out for the shape. */
    private record Weights(List<Tensor> copies, Tensor x, Tensor out) implements AutoCloseable {

        static Weights rotation(CudaBackend gpu, Shape shape) {
            int count = (int) Math.max(1, (ROTATION_BYTES + shape.weightBytes() - 1) / shape.weightBytes());
            List<Tensor> copies = new ArrayList<>();
            try (Tensor host = uniform(shape.n() * 31L + shape.k(), 0.05f, DType.BF16, shape.n(), shape.k());
                 Tensor hostX = uniform(7, 1f, DType.F32, shape.rows(), shape.k())) {
                Tensor first = gpu.upload(host);
                copies.add(first);
                for (int i = 1; i < count; i++) {
                    Tensor copy = gpu.allocate(DType.BF16, shape.n(), shape.k());
                    gpu.copy(first, copy);
                    copies.add(copy);
                }
                return new Weights(copies, gpu.upload(hostX), gpu.allocate(DType.F32, shape.rows(), shape.n()));
            }
        }

        @Override
        public void close() {
            copies.forEach(Tensor::close);
            x.close();
            out.close();
        }
    }

    /** One decoded Llama-7B token's GEMV weights: 32 layers of q, k, v, o, gate, up, down and lm_head, all distinct. */
    private record TokenWeights(List<Tensor> all, Tensor x, Tensor xMlp, Map<Integer, Tensor> outs) implements AutoCloseable {

        static TokenWeights allocate(CudaBackend gpu) {
            List<Tensor> all = new ArrayList<>();
            try (Tensor hostQ = uniform(1, 0.05f, DType.BF16, Q.n(), Q.k());
                 Tensor hostUp = uniform(2, 0.05f, DType.BF16, UP.n(), UP.k());
                 Tensor hostDown = uniform(3, 0.05f, DType.BF16, DOWN.n(), DOWN.k());
                 Tensor hostHead = uniform(4, 0.05f, DType.BF16, HEAD.n(), HEAD.k());
                 Tensor hostX = uniform(5, 1f, DType.F32, 1, Q.k());
                 Tensor hostXMlp = uniform(6, 1f, DType.F32, 1, DOWN.k());
                 Tensor q = gpu.upload(hostQ); Tensor up = gpu.upload(hostUp); Tensor down = gpu.upload(hostDown)) {
                for (int layer = 0; layer < LAYERS; layer++) {
                    for (Tensor template : new Tensor[] {q, q, q, q, up, up, down}) {
                        Tensor w = gpu.allocate(DType.BF16, template.dim(0), template.dim(1));
                        gpu.copy(template, w);
                        all.add(w);
                    }
                }
                all.add(gpu.upload(hostHead));
                Map<Integer, Tensor> outs = new HashMap<>();
                for (int n : new int[] {Q.n(), UP.n(), HEAD.n()}) {
                    outs.put(n, gpu.allocate(DType.F32, 1, n));
                }
                return new TokenWeights(all, gpu.upload(hostX), gpu.upload(hostXMlp), outs);
            }
        }

        /** ms per token of variant's GEMVs, launched in model order from one graph. */
        double measure(CudaBackend gpu, GemvVariant variant) {
            System.setProperty(GemvVariant.PROPERTY, variant.id());
            Runnable token = () -> {
                for (Tensor w : all) {
                    Tensor input = w.dim(1) == x.dim(1) ? x : xMlp;
                    gpu.linear(input, w, null, outs.get(w.dim(0)));
                }
            };
            token.run();
            try (StepGraph graph = gpu.capture(token)) {
                return BenchClock.nanosPerRun(gpu, WARMUP, REPLAYS, () -> gpu.launch(graph)) / 1e6;
            }
        }

        @Override
        public void close() {
            all.forEach(Tensor::close);
            x.close();
            xMlp.close();
            outs.values().forEach(Tensor::close);
        }
    }
}
