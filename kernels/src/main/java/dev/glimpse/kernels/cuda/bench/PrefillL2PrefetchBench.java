package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.L2PrefetchMode;
import dev.glimpse.kernels.cuda.StepGraph;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * One Llama-7B decoder layer's prefill at LLaVA-1.5-7B's small prompt (74 rows) as the GPU sees it:
 * RMSNorm, the stacked q/k/v GEMM, causal attention over the 74 rows (32 heads of 128, bf16), o_proj,
 * RMSNorm, the stacked gate/up GEMM, the gated SiLU, down_proj, with BF16 weights rotated over
 * {@value #COPIES} layer copies (about 1.5 GiB, so the L2 serves none of them) and replayed from a
 * captured graph of {@value #CALLS} layers, for each {@link L2PrefetchMode}: {@code OFF}, or before
 * each GEMM's preceding small kernels a prefetch of its first {@value #L2_SHARE_PERCENT}% of L2
 * bytes forked on the side stream ({@link CudaBackend#forkL2Prefetch}), joined at the layer's end,
 * as {@code -Dglimpse.cuda.prefillL2Prefetch} makes the decoder do. The small kernels' values are not
 * the GEMMs' inputs (the products read fixed operands), only their time and traffic count.
 *
 * <p>Prints one JSON line per mode ({@code "bench":"prefill_l2_prefetch"}: us per layer, the
 * 32-layer total in ms) and a summary ({@code "bench":"prefill_l2_prefetch_summary"}: us per layer
 * saved by each prefetch mode). Run on the GPU machine:
 * {@code java -cp <kernels classpath> dev.glimpse.kernels.cuda.bench.PrefillL2PrefetchBench [rows ...]}
 * (no argument: 74).
 */
public final class PrefillL2PrefetchBench {

    static final int HIDDEN = 4096;
    static final int INTERMEDIATE = 11008;
    static final int HEADS = 32;
    static final int HEAD_DIM = 128;
    static final int LAYERS = 32;
    static final int COPIES = 4;
    static final int CALLS = 8;
    static final int WARMUP = 3;
    static final int REPLAYS = 20;
    static final int ROUNDS = 5;
    /** The decoder's share of L2 per prefetch ({@code PrefillL2Prefetch.L2_SHARE}), in percent. */
    static final int L2_SHARE_PERCENT = 60;

    private PrefillL2PrefetchBench() {
    }

    public static void main(String[] args) {
        int[] rows = args.length == 0 ? new int[] {74} : Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (int r : rows) {
                run(gpu, r, System.out);
            }
        }
    }

    static void run(CudaBackend gpu, int rows, PrintStream out) {
        long bytes = gpu.l2CacheBytes() * L2_SHARE_PERCENT / 100;
        List<Layer> layers = new ArrayList<>();
        try (Activations a = Activations.allocate(gpu, rows)) {
            for (int c = 0; c < COPIES; c++) {
                layers.add(Layer.allocate(gpu));
            }
            L2PrefetchMode[] modes = L2PrefetchMode.values();
            double[][] rounds = new double[modes.length][ROUNDS];
            for (int m = 0; m < modes.length; m++) {
                for (Layer layer : layers) {
                    layer.forward(gpu, a, modes[m], bytes);
                }
                gpu.synchronize();
            }
            for (int round = 0; round < ROUNDS; round++) {
                for (int m = 0; m < modes.length; m++) {
                    L2PrefetchMode mode = modes[m];
                    try (StepGraph graph = gpu.capture(() -> {
                        for (int i = 0; i < CALLS; i++) {
                            layers.get(i % COPIES).forward(gpu, a, mode, bytes);
                        }
                    })) {
                        rounds[m][round] = BenchClock.nanosPerRun(gpu, WARMUP, REPLAYS, () -> gpu.launch(graph)) / 1e3 / CALLS;
                    }
                }
            }
            double off = BenchClock.median(rounds[0]);
            StringBuilder saved = new StringBuilder();
            for (int m = 0; m < modes.length; m++) {
                double us = BenchClock.median(rounds[m]);
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"prefill_l2_prefetch\",\"device\":\"%s\",\"rows\":%d,\"mode\":\"%s\",\"prefetch_bytes\":%d,"
                                + "\"layer_us\":%.2f,\"layers\":%d,\"model_ms\":%.3f}",
                        gpu.deviceName(), rows, mode(modes[m]), bytes, us, LAYERS, us * LAYERS / 1e3));
                if (m > 0) {
                    saved.append(String.format(Locale.ROOT, ",\"%s_saved_us_per_layer\":%.2f", mode(modes[m]), off - us));
                }
            }
            out.println(String.format(Locale.ROOT, "{\"bench\":\"prefill_l2_prefetch_summary\",\"device\":\"%s\",\"rows\":%d,"
                    + "\"off_layer_us\":%.2f%s}", gpu.deviceName(), rows, off, saved));
        } finally {
            layers.forEach(Layer::close);
        }
    }

    private static String mode(L2PrefetchMode m) {
        return m.name().toLowerCase(Locale.ROOT);
    }

    /** A layer's weights (contents undefined: the GEMMs take as long whatever they hold). */
    private record Layer(Tensor qkv, Tensor o, Tensor gateUp, Tensor down, Tensor inputNorm, Tensor postNorm)
            implements AutoCloseable {

        static Layer allocate(CudaBackend gpu) {
            return new Layer(gpu.allocate(DType.BF16, 3, HIDDEN, HIDDEN), gpu.allocate(DType.BF16, HIDDEN, HIDDEN),
                    gpu.allocate(DType.BF16, 2, INTERMEDIATE, HIDDEN), gpu.allocate(DType.BF16, HIDDEN, INTERMEDIATE),
                    gpu.allocate(DType.BF16, HIDDEN), gpu.allocate(DType.BF16, HIDDEN));
        }

        /** The layer's launches, each GEMM's prefetch forked before the small kernels ahead of it. */
        void forward(CudaBackend gpu, Activations a, L2PrefetchMode mode, long bytes) {
            int rows = a.x().dim(0);
            gpu.forkL2Prefetch(qkv, bytes, mode);
            gpu.rmsNorm(a.x(), inputNorm, 1e-5f, a.normed());
            gpu.linearStack(a.normed(), qkv, null, a.qkv());
            gpu.forkL2Prefetch(o, bytes, mode);
            Tensor q = a.qkv().select(0, 0).reshape(rows, HEADS, HEAD_DIM);
            Tensor k = a.qkv().select(0, 1).reshape(rows, HEADS, HEAD_DIM);
            Tensor v = a.qkv().select(0, 2).reshape(rows, HEADS, HEAD_DIM);
            gpu.attention(q, k, v, AttentionMask.causal(0), (float) Math.pow(HEAD_DIM, -0.5),
                    a.attention().reshape(rows, HEADS, HEAD_DIM), null, null, AttentionPrecision.BF16);
            gpu.linearAddResidual(a.attention16(), o, null, a.x(), a.residual());
            gpu.forkL2Prefetch(gateUp, bytes, mode);
            gpu.rmsNorm(a.residual(), postNorm, 1e-5f, a.normed());
            gpu.linearStack(a.normed(), gateUp, null, a.gateUp());
            gpu.forkL2Prefetch(down, bytes, mode);
            gpu.gatedActivation(Activation.SILU, a.gateUp().select(0, 0), a.gateUp().select(0, 1), a.activated());
            gpu.linearAddResidual(a.activated(), down, null, a.residual(), a.out());
            gpu.joinL2Prefetches();
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {qkv, o, gateUp, down, inputNorm, postNorm}) {
                t.close();
            }
        }
    }

    /**
     * The layer's activations: input x and residual F32 [rows, hidden], the 16-bit GEMM inputs,
     * q/k/v and gate/up F32 stacks, the attention output (F32, and a fixed 16-bit o_proj input).
     */
    private record Activations(Tensor x, Tensor normed, Tensor qkv, Tensor attention, Tensor attention16,
                               Tensor residual, Tensor gateUp, Tensor activated, Tensor out) implements AutoCloseable {

        static Activations allocate(CudaBackend gpu, int rows) {
            return new Activations(gpu.allocate(DType.F32, rows, HIDDEN), gpu.allocate(DType.BF16, rows, HIDDEN),
                    gpu.allocate(DType.F32, 3, rows, HIDDEN), gpu.allocate(DType.F32, rows, HIDDEN),
                    gpu.allocate(DType.BF16, rows, HIDDEN), gpu.allocate(DType.F32, rows, HIDDEN),
                    gpu.allocate(DType.F32, 2, rows, INTERMEDIATE), gpu.allocate(DType.BF16, rows, INTERMEDIATE),
                    gpu.allocate(DType.F32, rows, HIDDEN));
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {x, normed, qkv, attention, attention16, residual, gateUp, activated, out}) {
                t.close();
            }
        }
    }
}
