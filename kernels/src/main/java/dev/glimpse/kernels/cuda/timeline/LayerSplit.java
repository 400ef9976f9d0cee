package dev.glimpse.kernels.cuda.timeline;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Where a pass's repeated layers lie in its kernel sequence: kernels {@code [first, first + period
 * * layers)} are {@code layers} consecutive blocks of {@code period} launches, block for block the
 * same kernels with the same grids; what comes before is the pass's prologue (embedding, patch
 * projection), what comes after its epilogue (final norm, LM head, argmax). {@code layers == 0}
 * when no block repeats {@value #MIN_LAYERS} times.
 *
 * <p>Found from the launches alone, so that a pass replayed from a CUDA graph, which has no host
 * code per layer to mark boundaries, splits too: among all periods, the one whose longest
 * periodic stretch covers the most kernels in whole blocks (ties to the shorter period, so a
 * layer is never reported as two). Such a stretch can start one kernel early when the prologue
 * ends with the kernel a layer ends with; {@link #find(List, Pattern)} with a pattern for a
 * layer's first kernel then rotates the blocks to start there.
 */
public record LayerSplit(int first, int period, int layers) {

    /** The fewest repetitions that count as layers. */
    public static final int MIN_LAYERS = 3;

    public LayerSplit {
        if (first < 0 || period < 0 || layers < 0 || (layers > 0) != (period > 0)) {
            throw new IllegalArgumentException("bad layer split: first " + first + ", period " + period + ", layers " + layers);
        }
    }

    /** The index just past the last layer's last kernel. */
    public int end() {
        return first + period * layers;
    }

    /** The split of {@code kernels} (in start order) with no preference for the first kernel of a layer. */
    public static LayerSplit find(List<KernelRecord> kernels) {
        return find(kernels, null);
    }

    /**
     * The split of {@code kernels} (in start order). {@code layerStart} (may be null) matches,
     * with {@link java.util.regex.Matcher#find()}, the raw name of a layer's first kernel: the
     * blocks are rotated forward to the first match within the first block (none: unrotated).
     */
    public static LayerSplit find(List<KernelRecord> kernels, Pattern layerStart) {
        int n = kernels.size();
        int[] ids = new int[n];
        Map<String, Integer> known = new HashMap<>();
        for (int i = 0; i < n; i++) {
            ids[i] = known.computeIfAbsent(kernels.get(i).launchKey(), k -> known.size());
        }
        int bestFirst = 0;
        int bestPeriod = 0;
        int bestSpan = 0;
        int bestCovered = 0;
        for (int p = 1; p * MIN_LAYERS <= n; p++) {
            int runStart = 0;
            int run = 0;
            int longestStart = 0;
            int longest = 0;
            for (int i = 0; i + p < n; i++) {
                if (ids[i] == ids[i + p]) {
                    if (run == 0) {
                        runStart = i;
                    }
                    run++;
                    if (run > longest) {
                        longest = run;
                        longestStart = runStart;
                    }
                } else {
                    run = 0;
                }
            }
            int span = longest + p; // kernels [longestStart, longestStart + span) repeat with period p
            int covered = longest == 0 ? 0 : span / p * p;
            if (span / p >= MIN_LAYERS && covered > bestCovered) {
                bestFirst = longestStart;
                bestPeriod = p;
                bestSpan = span;
                bestCovered = covered;
            }
        }
        if (bestCovered == 0) {
            return new LayerSplit(0, 0, 0);
        }
        int shift = 0;
        if (layerStart != null) {
            for (int j = 0; j < bestPeriod; j++) {
                if (layerStart.matcher(kernels.get(bestFirst + j).name()).find()) {
                    shift = j;
                    break;
                }
            }
        }
        int layers = (bestSpan - shift) / bestPeriod;
        return layers >= MIN_LAYERS ? new LayerSplit(bestFirst + shift, bestPeriod, layers)
                : new LayerSplit(bestFirst, bestPeriod, bestSpan / bestPeriod);
    }
}
