package dev.glimpse.tokenpruning.bench;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.VisionAttention;
import dev.glimpse.tokenpruning.VisualFrame;
import dev.glimpse.tokenpruning.VtcClsSelector;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Time to select visual tokens for one image with {@code vtc-cls} at LLaVA-1.5's shape: [CLS]
 * rows of 8 encoder layers (15..22 of 24) x 16 heads x 577 tokens as tap tensors, scored and
 * reduced to U = 64 and 144 with the backend's top-k. Prints one JSON line per budget with the
 * median, 10th and 90th percentile of {@code reps} timed runs after {@code warmup} untimed ones.
 * To be set against the vision encoder's forward time at 576 tokens (its own bench).
 */
public final class SelectionBench {

    private static final int LAYERS = 24;
    private static final int HEADS = 16;
    private static final int TOKENS = 577;
    private static final int START_LAYER = 15;

    private SelectionBench() {
    }

    public static void main(String[] args) {
        int warmup = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5000;
        run(warmup, reps, System.out);
    }

    /** Runs the measurement and prints its JSON lines to {@code out}. */
    public static void run(int warmup, int reps, PrintStream out) {
        SplittableRandom random = new SplittableRandom(42);
        TreeMap<Integer, Tensor> rows = new TreeMap<>();
        try (Backend backend = new CpuBackend()) {
            for (int l = START_LAYER; l <= LAYERS - 2; l++) {
                float[] values = new float[HEADS * TOKENS];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (float) random.nextDouble();
                }
                rows.put(l, Tensor.of(values, HEADS, TOKENS));
            }
            VisualFrame frame = new VisualFrame(0, TokenGrid.square(TOKENS - 1), VisionAttention.ofClsRows(LAYERS, rows));
            VtcClsSelector selector = new VtcClsSelector(START_LAYER);
            for (int budget : new int[] {64, 144}) {
                long[] ns = new long[reps];
                int sink = 0;
                for (int i = 0; i < warmup + reps; i++) {
                    long t0 = System.nanoTime();
                    TokenSelection s = selector.select(backend, frame, budget);
                    long t1 = System.nanoTime();
                    sink += s.count();
                    if (i >= warmup) {
                        ns[i - warmup] = t1 - t0;
                    }
                }
                Arrays.sort(ns);
                out.println(String.format(Locale.ROOT,
                        "{\"bench\":\"vtc-cls-select\",\"layers\":%d,\"heads\":%d,\"tokens\":%d,\"budget\":%d,"
                                + "\"reps\":%d,\"median_us\":%.1f,\"p10_us\":%.1f,\"p90_us\":%.1f,\"kept\":%d}",
                        rows.size(), HEADS, TOKENS, budget, reps, ns[reps / 2] / 1e3, ns[reps / 10] / 1e3,
                        ns[reps * 9 / 10] / 1e3, sink / (warmup + reps)));
            }
        } finally {
            rows.values().forEach(Tensor::close);
        }
    }
}
