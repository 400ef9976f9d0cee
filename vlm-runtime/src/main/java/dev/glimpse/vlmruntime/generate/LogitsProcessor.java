package dev.glimpse.vlmruntime.generate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One step of HF's logits pipeline, in place on a float32 score row. Removed tokens become
 * {@code -inf} (HF's {@code filter_value}).
 */
public sealed interface LogitsProcessor {

    void apply(float[] scores, TokenHistory history, Workspace workspace);

    /**
     * The processors of {@code options} in the order HF's {@code _get_logits_processor} builds them:
     * repetition penalty (greedy and sampling), then, when sampling, temperature, top-k, top-p.
     */
    static List<LogitsProcessor> pipeline(GenerationOptions options) {
        List<LogitsProcessor> list = new ArrayList<>();
        if (options.repetitionPenalty() != 1.0) {
            list.add(new RepetitionPenalty((float) options.repetitionPenalty()));
        }
        if (options.doSample()) {
            if (options.temperature() != 1.0) {
                list.add(new Temperature(options.temperature()));
            }
            if (options.topK() != 0) {
                list.add(new TopK(options.topK()));
            }
            if (options.topP() < 1.0) {
                list.add(new TopP(options.topP()));
            }
        }
        return List.copyOf(list);
    }

    /**
     * HF {@code RepetitionPenaltyLogitsProcessor}: for every token id in the history, a negative
     * score is multiplied by the penalty and a positive one divided by it.
     */
    record RepetitionPenalty(float penalty) implements LogitsProcessor {
        @Override
        public void apply(float[] scores, TokenHistory history, Workspace workspace) {
            for (int i = 0; i < history.size(); i++) {
                int id = history.get(i);
                float s = scores[id];
                scores[id] = s < 0 ? s * penalty : s / penalty;
            }
        }
    }

    /** HF {@code TemperatureLogitsWarper}: scores / temperature. */
    record Temperature(double temperature) implements LogitsProcessor {
        @Override
        public void apply(float[] scores, TokenHistory history, Workspace workspace) {
            float t = (float) temperature;
            for (int i = 0; i < scores.length; i++) {
                scores[i] /= t;
            }
        }
    }

    /**
     * HF {@code TopKLogitsWarper}: scores below the k-th largest become -inf (ties with it stay).
     * The k-th value is found by selection, not a full sort.
     */
    record TopK(int k) implements LogitsProcessor {
        @Override
        public void apply(float[] scores, TokenHistory history, Workspace workspace) {
            int kk = Math.min(k, scores.length);
            float[] work = workspace.values;
            System.arraycopy(scores, 0, work, 0, scores.length);
            float threshold = Selection.kthLargest(work, scores.length, kk);
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] < threshold) {
                    scores[i] = Float.NEGATIVE_INFINITY;
                }
            }
        }
    }

    /**
     * HF {@code TopPLogitsWarper}: sort ascending, softmax, cumulative sum; tokens whose cumulative
     * probability is {@code <= 1 - top_p} become -inf, the best token always stays. Only finite
     * scores are sorted (an earlier top-k leaves k of them).
     */
    record TopP(double topP) implements LogitsProcessor {
        @Override
        public void apply(float[] scores, TokenHistory history, Workspace workspace) {
            long[] keys = workspace.keys;
            int n = 0;
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < scores.length; i++) {
                if (scores[i] != Float.NEGATIVE_INFINITY) {
                    keys[n++] = ((long) sortableBits(scores[i]) << 32) | i;
                    max = Math.max(max, scores[i]);
                }
            }
            Arrays.sort(keys, 0, n);
            float sum = 0;
            for (int j = 0; j < n; j++) {
                sum += (float) Math.exp(scores[(int) keys[j]] - max);
            }
            float threshold = (float) (1 - topP);
            float cumulative = 0;
            for (int j = 0; j < n - 1; j++) {
                int id = (int) keys[j];
                cumulative += (float) Math.exp(scores[id] - max) / sum;
                if (cumulative <= threshold) {
                    scores[id] = Float.NEGATIVE_INFINITY;
                }
            }
        }

        /** Float bits mapped so that signed int order is float order. */
        private static int sortableBits(float f) {
            int bits = Float.floatToIntBits(f);
            return bits < 0 ? bits ^ 0x7FFFFFFF : bits;
        }
    }

    /** Per-sequence scratch arrays of the processors (vocab-sized, allocated once). */
    final class Workspace {
        final float[] values;
        final long[] keys;

        public Workspace(int vocabSize) {
            this.values = new float[vocabSize];
            this.keys = new long[vocabSize];
        }
    }
}
