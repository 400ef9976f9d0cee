package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;

import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * {@code spatten}: SpAtten's cascade token and head pruning (PAPERS.md), applied to the visual
 * tokens during prefill.
 *
 * <p>Token importance is accumulated layer after layer from layer 0:
 * {@code I_j += sum_{h alive} sum_q P^{l,h}[q, j]}, the per-head column sums of the softmax
 * probabilities over all prefill queries. After a layer l in {@code tokenSchedule}, the top
 * {@code k_l = max(1, round(rho_l n_0))} tokens by accumulated importance survive (n_0 = visual
 * tokens entering the decoder, rho_l cumulative; never more than are still active): pruned
 * tokens leave every later layer and their importance with them (cascade, never return).
 * Selection uses the backend's O(n) top-k, the software twin of SpAtten's top-k engine.
 *
 * <p>Head importance is accumulated the same way from each head's attention-output L1 magnitude
 * {@code E_h += sum_t ||o^{l,h}_t||_1}: PAPERS.md's "accumulated L1 magnitude of each head's
 * attention output", read as the output {@code o = P V} of query head h before {@code o_proj},
 * summed over every query of the prefill (text and visual rows alike, as the token importance sums
 * every query) and over the head dim. After a layer in {@code headSchedule}, the top
 * {@code max(1, round(rho H))} heads still alive stay; pruned heads stay off in all later layers.
 * Reading: SpAtten's cascade treats head h of every layer as one unit (its accelerator skips head
 * index h from then on), so masks carry over by index. A pruned head's attention output is zero
 * (its share of {@code o_proj} removed) in the rest of the prefill and in every decode step after
 * it; under grouped-query attention masks are per query head. The decoder honours
 * {@link DecoderPruningSession#headMask} and captures the magnitudes at layers up to the last cut.
 *
 * <p>Defaults ({@link #defaults()}, {@code --prune spatten}): tokens keep 50% after layer 2, 25%
 * after layer 8, 12.5% after layer 16; heads keep 87.5% after layer 16 (28 of LLaVA-1.5-7B's 32
 * heads run in layers 17-31). The head step is our conservative choice, not a number from the
 * paper (SpAtten tunes its ratios per task): cutting a head index removes it from every later
 * layer, and training-free head pruning costs accuracy faster than token pruning; its accuracy on
 * LLaVA is for the demo-model evaluation to measure. Decoders of at most 16 layers (the test
 * fixtures) cut no head by default.
 *
 * <p>Not implemented: local V pruning (skipping V rows of tiny probability) and progressive
 * quantization (MSB-first compute, LSB refetch on flat softmax). Both are memory-traffic features
 * of SpAtten's accelerator that change no token choice; on a GPU or CPU they would need their own
 * attention kernels.
 *
 * @param tokenSchedule layer after which tokens are cut -> cumulative keep ratio of n_0, in (0, 1]
 * @param headSchedule  layer after which heads are cut -> cumulative keep ratio of the heads
 */
public record SpAttenCascade(SortedMap<Integer, Double> tokenSchedule, SortedMap<Integer, Double> headSchedule)
        implements DecoderTokenPruner {

    public SpAttenCascade {
        tokenSchedule = checked(tokenSchedule, "token");
        headSchedule = checked(headSchedule, "head");
        if (tokenSchedule.isEmpty() && headSchedule.isEmpty()) {
            throw new IllegalArgumentException("spatten needs a token or a head keep schedule");
        }
    }

    /**
     * Keeps 50% of the visual tokens after layer 2, 25% after layer 8, 12.5% after layer 16, and
     * 87.5% of the heads after layer 16 (see the class javadoc).
     */
    public static SpAttenCascade defaults() {
        return new SpAttenCascade(new TreeMap<>(Map.of(2, 0.5, 8, 0.25, 16, 0.125)), new TreeMap<>(Map.of(16, 0.875)));
    }

    @Override
    public String name() {
        return "spatten";
    }

    /** The last layer whose attention the cascade reads. */
    public int lastLayer() {
        int t = tokenSchedule.isEmpty() ? -1 : tokenSchedule.lastKey();
        int h = headSchedule.isEmpty() ? -1 : headSchedule.lastKey();
        return Math.max(t, h);
    }

    /** {@code sum_h columnSums[h][j]} over the heads with {@code alive[h]} (all when null). */
    public static double[] layerImportance(float[][] columnSums, boolean[] alive) {
        int n = columnSums[0].length;
        double[] out = new double[n];
        for (int h = 0; h < columnSums.length; h++) {
            if (alive == null || alive[h]) {
                for (int j = 0; j < n; j++) {
                    out[j] += columnSums[h][j];
                }
            }
        }
        return out;
    }

    @Override
    public DecoderPruningSession start(List<TokenSelection> visualTokens) {
        return new DecoderPruningSession(name(), new Rule(this), visualTokens);
    }

    private static SortedMap<Integer, Double> checked(SortedMap<Integer, Double> schedule, String what) {
        TreeMap<Integer, Double> copy = new TreeMap<>(schedule == null ? Map.of() : schedule);
        double previous = 1;
        for (Map.Entry<Integer, Double> e : copy.entrySet()) {
            double r = e.getValue();
            if (e.getKey() < 0 || !(r > 0 && r <= 1)) {
                throw new IllegalArgumentException("spatten " + what + " schedule: layer " + e.getKey() + " -> " + r
                        + " (layers >= 0, keep ratios in (0, 1])");
            }
            if (r > previous) {
                throw new IllegalArgumentException("spatten " + what + " schedule must not grow (a cascade never "
                        + "revives): " + r + " after " + previous);
            }
            previous = r;
        }
        return Collections.unmodifiableSortedMap(copy);
    }

    static final class Rule implements LayerRule {
        private final SpAttenCascade config;
        private double[] tokenImportance;
        private double[] headImportance;
        private boolean[] alive;
        private final TreeMap<Integer, boolean[]> headCuts = new TreeMap<>();
        private int initial = -1;

        Rule(SpAttenCascade config) {
            this.config = config;
        }

        @Override
        public AttentionNeeds needs(int layer) {
            if (layer > config.lastLayer()) {
                return null;
            }
            boolean tokens = !config.tokenSchedule().isEmpty() && layer <= config.tokenSchedule().lastKey();
            return new AttentionNeeds(false, false, tokens, !config.headSchedule().isEmpty());
        }

        @Override
        public Decision decide(Backend backend, DecoderAttention attention, List<TokenOrigin> current) {
            int layer = attention.layer();
            int n = current.size();
            if (initial < 0) {
                initial = n;
                tokenImportance = new double[n];
            }
            if (attention.headOutputL1() != null) {
                accumulateHeads(HostTensors.values(backend, attention.headOutputL1()));
            }
            float[] scores = null;
            if (attention.columnSums() != null) {
                float[][] sums = HostTensors.rows(backend, attention.columnSums(), "column sums", n);
                double[] layerScores = layerImportance(sums, alive);
                scores = new float[n];
                for (int j = 0; j < n; j++) {
                    tokenImportance[j] += layerScores[j];
                    scores[j] = (float) tokenImportance[j];
                }
            }
            Double headRatio = config.headSchedule().get(layer);
            if (headRatio != null) {
                cutHeads(backend, layer, headRatio);
            }
            Double ratio = config.tokenSchedule().get(layer);
            if (ratio == null) {
                return Decision.none();
            }
            if (scores == null) {
                throw new IllegalArgumentException("spatten token pruning after layer " + layer
                        + " needs the column sums (DecoderAttention.columnSums)");
            }
            int k = (int) Math.min(n, Math.max(1, Math.round(ratio * initial)));
            int[] keep = TopKSelection.topIndices(backend, scores, k);
            double[] next = new double[keep.length];
            for (int i = 0; i < keep.length; i++) {
                next[i] = tokenImportance[keep[i]];
            }
            tokenImportance = next;
            return new Decision(keep, scores, k);
        }

        @Override
        public boolean[] headMask(int layer) {
            Map.Entry<Integer, boolean[]> e = headCuts.lowerEntry(layer);
            return e == null ? null : e.getValue();
        }

        private void accumulateHeads(float[] l1) {
            if (headImportance == null) {
                headImportance = new double[l1.length];
                alive = new boolean[l1.length];
                Arrays.fill(alive, true);
            }
            if (l1.length != headImportance.length) {
                throw new IllegalArgumentException("head-output L1 has " + l1.length + " heads, expected " + headImportance.length);
            }
            for (int h = 0; h < l1.length; h++) {
                if (alive[h]) {
                    headImportance[h] += l1[h];
                }
            }
        }

        private void cutHeads(Backend backend, int layer, double ratio) {
            if (headImportance == null) {
                throw new IllegalArgumentException("spatten head pruning after layer " + layer
                        + " needs the head-output L1 magnitudes (DecoderAttention.headOutputL1)");
            }
            int heads = headImportance.length;
            int aliveCount = 0;
            float[] scores = new float[heads];
            for (int h = 0; h < heads; h++) {
                scores[h] = alive[h] ? (float) headImportance[h] : Float.NEGATIVE_INFINITY;
                aliveCount += alive[h] ? 1 : 0;
            }
            int k = (int) Math.min(aliveCount, Math.max(1, Math.round(ratio * heads)));
            boolean[] next = new boolean[heads];
            for (int h : TopKSelection.topIndices(backend, scores, k)) {
                next[h] = true;
            }
            alive = next;
            headCuts.put(layer, next.clone());
        }
    }
}
