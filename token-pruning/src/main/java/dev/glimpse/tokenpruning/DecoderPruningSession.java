package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.tokenpruning.trace.PruningTrace;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One request's decoder-layer pruning: which visual tokens are still active, what to capture
 * before each layer, what survives after it. Not thread-safe; one per prefill.
 *
 * <p>Cascade: each {@link #afterLayer} keeps a subset of the tokens still active, so a pruned
 * token never returns; layers must come in increasing order. Positions returned index the
 * current visual tokens (as the attention tensors do), ascending, so the model maps them onto its
 * active-token list and drops the rest from the hidden states and the later layers' KV cache.
 */
public final class DecoderPruningSession {

    private final String strategy;
    private final LayerRule rule;
    private final List<TokenSelection> frames;
    private final int[] frameOf;
    private final int[] cellOf;
    private final int initial;
    private int[] current;
    private int lastLayer = -1;
    private final TreeMap<Integer, Integer> countAfter = new TreeMap<>();
    private final List<PruningTrace.Stage> stages = new ArrayList<>();

    DecoderPruningSession(String strategy, LayerRule rule, List<TokenSelection> visualTokens) {
        this.strategy = strategy;
        this.rule = rule;
        this.frames = List.copyOf(visualTokens);
        int total = 0;
        for (TokenSelection s : frames) {
            total += s.count();
        }
        this.initial = total;
        this.frameOf = new int[total];
        this.cellOf = new int[total];
        int next = 0;
        for (int f = 0; f < frames.size(); f++) {
            for (int t : frames.get(f).kept()) {
                frameOf[next] = f;
                cellOf[next++] = t;
            }
        }
        this.current = new int[total];
        Arrays.setAll(current, i -> i);
    }

    /** What to capture at {@code layer} (over the current visual tokens); empty: nothing, and no {@link #afterLayer} call. */
    public Optional<AttentionNeeds> before(int layer) {
        return Optional.ofNullable(rule.needs(layer));
    }

    /**
     * Consumes the attention captured at {@code attention.layer()} and returns the positions of
     * the current visual tokens that go on to the next layer, ascending (all of them when this
     * layer prunes nothing).
     */
    public int[] afterLayer(Backend backend, DecoderAttention attention) {
        int layer = attention.layer();
        if (layer <= lastLayer) {
            throw new IllegalStateException("decoder layers must come in increasing order: " + layer + " after " + lastLayer);
        }
        lastLayer = layer;
        LayerRule.Decision d = rule.decide(backend, attention, origins());
        if (d.keep() == null) {
            int[] all = new int[current.length];
            Arrays.setAll(all, i -> i);
            return all;
        }
        int[] keep = d.keep();
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] < 0 || keep[i] >= current.length || (i > 0 && keep[i] <= keep[i - 1])) {
                throw new IllegalStateException(strategy + " returned positions that are not ascending within the "
                        + current.length + " active visual tokens: " + Arrays.toString(keep));
            }
        }
        stages.add(stage(layer, keep, d));
        int[] next = new int[keep.length];
        for (int i = 0; i < keep.length; i++) {
            next[i] = current[keep[i]];
        }
        current = next;
        countAfter.put(layer, current.length);
        return keep.clone();
    }

    /** Visual tokens entering the decoder. */
    public int initialVisualTokens() {
        return initial;
    }

    /** Visual tokens still active. */
    public int visualTokens() {
        return current.length;
    }

    /** (frame, row, col) of each active visual token, in prompt order; frame is the selection's frame. */
    public List<TokenOrigin> origins() {
        List<TokenOrigin> out = new ArrayList<>(current.length);
        for (int i : current) {
            TokenSelection s = frames.get(frameOf[i]);
            out.add(new TokenOrigin(s.frame(), s.grid().row(cellOf[i]), s.grid().col(cellOf[i])));
        }
        return out;
    }

    /** Visual tokens each of {@code decoderLayers} layers processes (pruning after layer l shows from layer l + 1). */
    public int[] visualTokensPerLayer(int decoderLayers) {
        int[] out = new int[decoderLayers];
        for (int l = 0; l < decoderLayers; l++) {
            Map.Entry<Integer, Integer> e = countAfter.lowerEntry(l);
            out[l] = e == null ? initial : e.getValue();
        }
        return out;
    }

    /** Heads that run in {@code layer} (SpAtten head pruning), or null for all. */
    public boolean[] headMask(int layer) {
        boolean[] mask = rule.headMask(layer);
        return mask == null ? null : mask.clone();
    }

    /** One trace stage per layer that pruned, in layer order. */
    public List<PruningTrace.Stage> traceStages() {
        return List.copyOf(stages);
    }

    private PruningTrace.Stage stage(int layer, int[] keep, LayerRule.Decision d) {
        List<List<Integer>> keptPerFrame = new ArrayList<>();
        List<float[]> scoresPerFrame = new ArrayList<>();
        for (TokenSelection s : frames) {
            keptPerFrame.add(new ArrayList<>());
            float[] sc = new float[s.grid().size()];
            Arrays.fill(sc, Float.NaN);
            scoresPerFrame.add(d.scores() == null ? null : sc);
        }
        for (int p : keep) {
            int i = current[p];
            keptPerFrame.get(frameOf[i]).add(cellOf[i]);
        }
        if (d.scores() != null) {
            for (int p = 0; p < current.length; p++) {
                int i = current[p];
                scoresPerFrame.get(frameOf[i])[cellOf[i]] = d.scores()[p];
            }
        }
        List<TokenSelection> selections = new ArrayList<>();
        for (int f = 0; f < frames.size(); f++) {
            TokenSelection s = frames.get(f);
            int[] kept = keptPerFrame.get(f).stream().mapToInt(Integer::intValue).toArray();
            Arrays.sort(kept);
            selections.add(new TokenSelection(s.frame(), s.grid(), kept, scoresPerFrame.get(f)));
        }
        return PruningTrace.Stage.of(strategy + "@layer" + layer, strategy, HookPoint.DECODER_LAYER, layer, selections,
                null).withBudget(d.budget());
    }
}
