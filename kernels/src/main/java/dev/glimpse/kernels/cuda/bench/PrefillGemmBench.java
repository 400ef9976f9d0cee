package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.StepGraph;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static dev.glimpse.kernels.cuda.bench.BenchTensors.uniform;

/**
 * Prefill GEMMs with BF16 weights and BF16 x (as the decoder hands them to cuBLASLt) at the linear
 * layers of LLaVA-1.5-7B's Llama-7B (74 rows: a 64-token image prompt; 586: the full 576-token
 * image) and Qwen2-0.5B (6296 rows: a LLaVA-OneVision video prompt), for each combination of
 * <ul>
 *   <li>algorithm: {@code heuristic} (cuBLASLt's first, {@code -Dglimpse.cuda.ltTune=false}),
 *       {@code tuned} (measured, the default) or {@code wide} (measured with the wide search,
 *       {@code -Dglimpse.cuda.ltSearch=wide}; here with {@code -Dglimpse.cuda.ltSearch.maxRows=1024}
 *       unless the JVM sets it, so 586 rows are searched too, where a model by default searches row
 *       buckets up to 256 only), and {@code tuned-rotate} or {@code wide-rotate}: the same, timed on
 *       rotating weight copies rather than after an L2 flush ({@code -Dglimpse.cuda.ltTiming=rotate});
 *       {@code -DprefillGemm.algorithms=heuristic,tuned,wide,wide-rotate} (the default) picks them;</li>
 *   <li>form: {@code separate} (one {@code linear} per weight, down_proj then a residual add) or
 *       {@code fused} (q/k/v, k/v and gate/up as one {@code linearStack} over the concatenated
 *       weights, down_proj with the residual added in its epilogue).</li>
 * </ul>
 * Each product rotates over enough distinct weight copies (at least {@value #ROTATION_BYTES}
 * bytes, at most {@value #MAX_COPIES}) that the L2 cannot serve them, runs eagerly first (the tuned
 * backend measures there), then as a captured graph of at least {@value #MIN_CALLS} calls,
 * {@value #WARMUP} warm-up and {@value #REPLAYS} timed replays bracketed by stream
 * synchronisations.
 *
 * <p>Prints one JSON line per product, rows, algorithm and form ({@code "bench":"prefill_gemm"}:
 * us, weight bytes over time in TB/s and as a fraction of {@value #HBM_BYTES_PER_S} B/s, TFLOP/s),
 * one per cuBLASLt choice the case measured or took from the choice store
 * ({@code "bench":"prefill_gemm_choice"}: the problem and its configuration), then one
 * per model, rows, algorithm and form summing a layer's products and multiplying by the layer
 * count ({@code "bench":"prefill_gemm_layers"}). The wide search's choices are stored under keys of
 * their own, so the {@code tuned} pass never runs them. Run on the GPU machine:
 * {@code java -cp <kernels classpath> dev.glimpse.kernels.cuda.bench.PrefillGemmBench [rows ...]}
 * (no argument: 74, 586 and 6296).
 */
public final class PrefillGemmBench {

    static final double HBM_BYTES_PER_S = 4.8e12;
    static final long ROTATION_BYTES = 200L << 20;
    static final int MAX_COPIES = 32;
    static final int MIN_CALLS = 24;
    static final int WARMUP = 3;
    static final int REPLAYS = 10;
    private static final String TUNE_PROPERTY = "glimpse.cuda.ltTune";
    private static final String SEARCH_PROPERTY = "glimpse.cuda.ltSearch";
    private static final String SEARCH_ROWS_PROPERTY = "glimpse.cuda.ltSearch.maxRows";
    private static final String TIMING_PROPERTY = "glimpse.cuda.ltTiming";
    /** The algorithms (passes) to run, comma-separated. */
    static final String ALGORITHMS_PROPERTY = "prefillGemm.algorithms";
    static final String DEFAULT_ALGORITHMS = "heuristic,tuned,wide,wide-rotate";
    /** The wide pass's row bucket limit unless the JVM sets one: 586 rows (bucket 1024) are searched. */
    private static final String WIDE_MAX_ROWS = "1024";

    /**
     * A layer's product: {@code batch} weights [n, k] sharing x (1: a single linear), with biases or
     * not, adding into the residual stream or not (down_proj: separate = linear then add, fused =
     * {@code linearAddResidual}).
     */
    record Product(String layer, int batch, int n, int k, boolean bias, boolean residual) {
        long weightBytes() {
            return (long) batch * n * k * DType.BF16.byteSize();
        }
    }

    /** A model's per-layer products at one prompt length. */
    record Case(String model, int layers, int rows, List<Product> products) {
    }

    private static final List<Product> LLAMA_7B = List.of(new Product("q_k_v", 3, 4096, 4096, false, false),
            new Product("o", 1, 4096, 4096, false, false), new Product("gate_up", 2, 11008, 4096, false, false),
            new Product("down", 1, 4096, 11008, false, true));
    private static final List<Product> QWEN2_05B = List.of(new Product("q", 1, 896, 896, true, false),
            new Product("k_v", 2, 128, 896, true, false), new Product("o", 1, 896, 896, false, false),
            new Product("gate_up", 2, 4864, 896, false, false), new Product("down", 1, 896, 4864, false, true));

    private PrefillGemmBench() {
    }

    public static void main(String[] args) {
        List<Case> cases = new ArrayList<>();
        int[] rows = args.length == 0 ? new int[] {74, 586, 6296} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        for (int r : rows) {
            if (r >= 4096) {
                cases.add(new Case("qwen2-0.5b", 24, r, QWEN2_05B));
            } else {
                cases.add(new Case("llava-1.5-7b", 32, r, LLAMA_7B));
            }
        }
        run(cases, System.out);
    }

    static void run(List<Case> cases, PrintStream out) {
        for (String tune : System.getProperty(ALGORITHMS_PROPERTY, DEFAULT_ALGORITHMS).split(",")) {
            if (!List.of("heuristic", "tuned", "wide", "tuned-rotate", "wide-rotate").contains(tune)) {
                throw new IllegalArgumentException("-D" + ALGORITHMS_PROPERTY + ": unknown algorithm " + tune
                        + " (heuristic, tuned, wide, tuned-rotate, wide-rotate)");
            }
            String maxRows = System.getProperty(SEARCH_ROWS_PROPERTY, WIDE_MAX_ROWS);
            PropertyScope.run(TUNE_PROPERTY, tune.equals("heuristic") ? "false" : "true", () ->
                    PropertyScope.run(SEARCH_PROPERTY, tune.startsWith("wide") ? "wide" : "heuristic", () ->
                            PropertyScope.run(TIMING_PROPERTY, tune.endsWith("-rotate") ? "rotate" : "flush", () ->
                                    PropertyScope.run(SEARCH_ROWS_PROPERTY, maxRows, () -> {
                                        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
                                            for (Case c : cases) {
                                                runCase(gpu, c, tune, out);
                                            }
                                        }
                                    }))));
        }
    }

    private static void runCase(CudaBackend gpu, Case c, String tune, PrintStream out) {
        Map<String, Double> layerUs = new LinkedHashMap<>();
        Map<String, String> choicesBefore = gpu.ltChoices();
        long layerBytes = 0;
        double layerFlops = 0;
        for (Product p : c.products()) {
            layerBytes += p.weightBytes();
            layerFlops += 2.0 * c.rows() * p.batch() * p.n() * p.k();
            try (Operands ops = Operands.allocate(gpu, p, c.rows())) {
                for (String form : new String[] {"separate", "fused"}) {
                    double us = ops.measure(gpu, form.equals("fused"));
                    layerUs.merge(form, us, Double::sum);
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"prefill_gemm\",\"device\":\"%s\",\"model\":\"%s\",\"layer\":\"%s\",\"rows\":%d,"
                                    + "\"batch\":%d,\"n\":%d,\"k\":%d,\"bias\":%b,\"residual\":%b,\"algorithm\":\"%s\",\"form\":\"%s\","
                                    + "\"copies\":%d,\"us\":%.2f,\"tbps\":%.3f,\"hbm_fraction\":%.3f,\"tflops\":%.1f}",
                            gpu.deviceName(), c.model(), p.layer(), c.rows(), p.batch(), p.n(), p.k(), p.bias(), p.residual(), tune, form,
                            ops.copies().size(), us, p.weightBytes() / (us * 1e-6) / 1e12, p.weightBytes() / (us * 1e-6) / HBM_BYTES_PER_S,
                            2.0 * c.rows() * p.batch() * p.n() * p.k() / (us * 1e-6) / 1e12));
                }
            }
        }
        gpu.ltChoices().forEach((key, line) -> {
            if (!line.equals(choicesBefore.get(key))) {
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"prefill_gemm_choice\",\"device\":\"%s\",\"model\":\"%s\",\"rows\":%d,"
                                + "\"algorithm\":\"%s\",\"key\":\"%s\",\"choice\":\"%s\"}",
                        gpu.deviceName(), c.model(), c.rows(), tune, json(key), json(line)));
            }
        });
        for (Map.Entry<String, Double> e : layerUs.entrySet()) {
            double us = e.getValue();
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"prefill_gemm_layers\",\"device\":\"%s\",\"model\":\"%s\",\"rows\":%d,\"algorithm\":\"%s\","
                            + "\"form\":\"%s\",\"layer_us\":%.2f,\"layers\":%d,\"model_ms\":%.3f,\"hbm_fraction\":%.3f,"
                            + "\"tflops\":%.1f}",
                    gpu.deviceName(), c.model(), c.rows(), tune, e.getKey(), us, c.layers(), us * c.layers() / 1e3,
                    layerBytes / (us * 1e-6) / HBM_BYTES_PER_S, layerFlops / (us * 1e-6) / 1e12));
        }
    }

    /** {@code s} as the inside of a JSON string (quotes and backslashes escaped). */
    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    /**
     * Rotating copies of one product's stacked weights [B, n, k], its x, biases and output
     * [B, rows, n]; for a residual product also the residual and the layer output [rows, n].
     */
    private record Operands(List<Tensor> copies, Tensor x, Tensor bias, Tensor out, Tensor residual, Tensor sum)
            implements AutoCloseable {

        static Operands allocate(CudaBackend gpu, Product p, int rows) {
            int count = (int) Math.min(MAX_COPIES, Math.max(1, (ROTATION_BYTES + p.weightBytes() - 1) / p.weightBytes()));
            List<Tensor> copies = new ArrayList<>();
            try (Tensor host = uniform(p.n() * 31L + p.k(), 0.05f, DType.BF16, p.n(), p.k());
                 Tensor hostX = uniform(7, 1f, DType.BF16, rows, p.k());
                 Tensor hostBias = uniform(11, 0.1f, DType.F32, p.batch(), p.n());
                 Tensor first = gpu.upload(host)) {
                for (int c = 0; c < count; c++) {
                    Tensor stack = gpu.allocate(DType.BF16, p.batch(), p.n(), p.k());
                    for (int i = 0; i < p.batch(); i++) {
                        gpu.copy(first, stack.select(0, i));
                    }
                    copies.add(stack);
                }
                return new Operands(copies, gpu.upload(hostX), p.bias() ? gpu.upload(hostBias) : null,
                        gpu.allocate(DType.F32, p.batch(), rows, p.n()),
                        p.residual() ? gpu.allocate(DType.F32, rows, p.n()) : null,
                        p.residual() ? gpu.allocate(DType.F32, rows, p.n()) : null);
            }
        }

        /** us per product (all B weights) over the rotation: eager calls, then a captured graph replayed. */
        double measure(CudaBackend gpu, boolean fused) {
            int calls = copies.size() * ((MIN_CALLS + copies.size() - 1) / copies.size());
            for (Tensor w : copies) {
                call(gpu, w, fused);
            }
            gpu.synchronize();
            try (StepGraph graph = gpu.capture(() -> {
                for (int i = 0; i < calls; i++) {
                    call(gpu, copies.get(i % copies.size()), fused);
                }
            })) {
                return BenchClock.nanosPerRun(gpu, WARMUP, REPLAYS, () -> gpu.launch(graph)) / 1e3 / calls;
            }
        }

        private void call(CudaBackend gpu, Tensor w, boolean fused) {
            if (residual != null) {
                if (fused) {
                    gpu.linearAddResidual(x, w.select(0, 0), bias == null ? null : bias.select(0, 0), residual, sum);
                } else {
                    gpu.linear(x, w.select(0, 0), bias == null ? null : bias.select(0, 0), out.select(0, 0));
                    gpu.add(residual, out.select(0, 0), sum);
                }
                return;
            }
            if (fused || w.dim(0) == 1) {
                gpu.linearStack(x, w, bias, out);
                return;
            }
            for (int i = 0; i < w.dim(0); i++) {
                gpu.linear(x, w.select(0, i), bias == null ? null : bias.select(0, i), out.select(0, i));
            }
        }

        @Override
        public void close() {
            copies.forEach(Tensor::close);
            x.close();
            if (bias != null) {
                bias.close();
            }
            out.close();
            if (residual != null) {
                residual.close();
                sum.close();
            }
        }
    }
}
