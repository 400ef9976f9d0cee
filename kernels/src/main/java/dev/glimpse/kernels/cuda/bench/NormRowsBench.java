package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.NormRowsVariant;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The LayerNorm / RMSNorm row kernel variants ({@link NormRowsVariant}, {@code -Dglimpse.cuda.normRows}) against
 * today's {@code v4} kernels at the shapes LLaVA-1.5-7B runs them: RMSNorm over Llama-7B rows of 4096 (74 rows: 64
 * VTC-CLS visual tokens plus text; 586: the full image) and Qwen2-0.5B's 896, LayerNorm over CLIP-L/336's 577 rows
 * of 1024 and SigLIP so400m's 729 of 1152; BF16 gamma (and beta), BF16 output (a 16-bit GEMM's input). Each
 * variant's {@value #CALLS} calls are captured in one graph and replayed (no launch gaps, as in a prefill graph);
 * the median over {@value #ROUNDS} rounds. Two modes:
 * <ul>
 *   <li>{@code hot}: the calls back to back on the same x and gamma, all of it L2-resident after the first.</li>
 *   <li>{@code cold}: as in a model's layer, where the GEMMs between two norms stream hundreds of MB of weights:
 *   before each call, an in-place {@code scale} of an {@value #EVICT_MB} MB buffer evicts gamma, beta and x from
 *   L2, then a {@code scale} by 1 rewrites x (the previous kernel's output, L2-resident as in the model). The
 *   time per call is that graph's less the same graph without the norms.</li>
 * </ul>
 * Prints one JSON line per shape, mode and variant ({@code auto}, {@code staged}; {@code "bench":"norm_rows"}: us
 * per call of {@code v4} (old) and of the variant (new), and {@code ratio} = new / old, below 1 when the variant is
 * faster; {@code auto} is v4 for the LayerNorm shapes, so about 1 there). Run on the GPU machine:
 * {@code java -cp <kernels classpath> dev.glimpse.kernels.cuda.bench.NormRowsBench}. H200 numbers:
 * {@link NormRowsVariant}.
 */
public final class NormRowsBench {

    static final int CALLS = 16;
    static final int WARMUP = 3;
    static final int REPLAYS = 20;
    static final int ROUNDS = 7;
    /** The L2-evicting buffer's size: above the H200's 60 MiB L2 (62,914,560 bytes, cudaDevAttrL2CacheSize). */
    static final int EVICT_MB = 80;

    /** One norm launch shape: {@code kernel} "rms" or "layer" over {@code rows} rows of {@code n}. */
    private record Shape(String kernel, int rows, int n) {
    }

    private static final Shape[] SHAPES = {new Shape("rms", 74, 4096), new Shape("rms", 586, 4096),
            new Shape("rms", 74, 896), new Shape("layer", 577, 1024), new Shape("layer", 729, 1152)};

    private NormRowsBench() {
    }

    /**
     * Times v4 at every shape first, then each variant at every shape in the order of {@link NormRowsVariant}
     * (a variant that faults leaves the lines before it printed).
     */
    public static void main(String[] args) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults());
             Tensor evict = BenchClock.onDevice(gpu, Tensor.allocate(DType.F32, EVICT_MB << 18))) {
            Case[] cases = new Case[SHAPES.length];
            for (int i = 0; i < SHAPES.length; i++) {
                cases[i] = new Case(gpu, SHAPES[i], evict);
            }
            try {
                double[][] v4 = new double[SHAPES.length][];
                for (int i = 0; i < cases.length; i++) {
                    v4[i] = cases[i].time(NormRowsVariant.V4);
                }
                for (NormRowsVariant variant : NormRowsVariant.values()) {
                    if (variant == NormRowsVariant.V4) {
                        continue;
                    }
                    for (int i = 0; i < cases.length; i++) {
                        double[] us = cases[i].time(variant);
                        print(System.out, gpu, SHAPES[i], "hot", variant, v4[i][0], us[0]);
                        print(System.out, gpu, SHAPES[i], "cold", variant, v4[i][1], us[1]);
                    }
                }
            } finally {
                for (Case c : cases) {
                    c.close();
                }
            }
        }
    }

    /** One shape's tensors and calls: the norm alone (hot), and after the L2 eviction and x's rewrite (cold). */
    private static final class Case implements AutoCloseable {
        private final CudaBackend gpu;
        private final Tensor source;
        private final Tensor x;
        private final Tensor gamma;
        private final Tensor beta;
        private final Tensor normed;
        private final Runnable norm;
        private final Runnable refill;
        private final Runnable coldNorm;
        private double coldBase = Double.NaN;

        Case(CudaBackend gpu, Shape shape, Tensor evict) {
            this.gpu = gpu;
            int rows = shape.rows();
            int n = shape.n();
            source = BenchClock.onDevice(gpu, BenchTensors.uniform(1, 2f, DType.F32, rows, n));
            x = BenchClock.onDevice(gpu, BenchTensors.uniform(1, 2f, DType.F32, rows, n));
            gamma = BenchClock.onDevice(gpu, BenchTensors.uniform(2, 1f, DType.BF16, n));
            beta = BenchClock.onDevice(gpu, BenchTensors.uniform(3, 1f, DType.BF16, n));
            normed = gpu.allocate(DType.BF16, rows, n);
            norm = "rms".equals(shape.kernel())
                    ? () -> gpu.rmsNorm(x, gamma, 1e-6f, normed)
                    : () -> gpu.layerNorm(x, gamma, beta, 1e-5f, normed);
            refill = () -> {
                gpu.scale(evict, 1f, evict);
                gpu.scale(source, 1f, x);
            };
            coldNorm = () -> {
                refill.run();
                norm.run();
            };
        }

        /** us per call under variant: {hot, cold}; the cold graph's eviction and rewrite timed once and subtracted. */
        double[] time(NormRowsVariant variant) {
            if (Double.isNaN(coldBase)) {
                coldBase = NormRowsBench.time(gpu, refill);
            }
            return new double[] {variantTime(gpu, variant, norm), variantTime(gpu, variant, coldNorm) - coldBase};
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {source, x, gamma, beta, normed}) {
                t.close();
            }
        }
    }

    private static void print(PrintStream out, CudaBackend gpu, Shape shape, String mode, NormRowsVariant variant,
                              double oldUs, double newUs) {
        out.println(String.format(Locale.ROOT,
                "{\"bench\":\"norm_rows\",\"device\":\"%s\",\"kernel\":\"%s\",\"rows\":%d,\"n\":%d,\"mode\":\"%s\","
                        + "\"variant\":\"%s\",\"old_us\":%.3f,\"new_us\":%.3f,\"ratio\":%.3f}",
                gpu.deviceName(), shape.kernel(), shape.rows(), shape.n(), mode, variant.id(), oldUs, newUs,
                newUs / oldUs));
        out.flush();
    }

    /** {@link #time} of call captured under {@code -Dglimpse.cuda.normRows=<variant>}. */
    private static double variantTime(CudaBackend gpu, NormRowsVariant variant, Runnable call) {
        return PropertyScope.measure(NormRowsVariant.PROPERTY, variant.id(), () -> time(gpu, call));
    }

    /** Median over rounds of us per call: {@value #CALLS} calls captured once per round and replayed. */
    private static double time(CudaBackend gpu, Runnable call) {
        return BenchClock.graphMicrosPerCall(gpu, CALLS, WARMUP, REPLAYS, ROUNDS, call);
    }
}
