package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.AttentionNeeds;
import dev.glimpse.tokenpruning.DecoderAttention;
import dev.glimpse.tokenpruning.DecoderPruningSession;
import dev.glimpse.vlmruntime.decoder.AttentionRequest;
import dev.glimpse.vlmruntime.decoder.LayerAttention;
import dev.glimpse.vlmruntime.decoder.PruningHook;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/**
 * Hook point 3 for one prefill: drives a token-pruning {@link DecoderPruningSession} (FastV,
 * SpAtten, ATP) from the decoder's {@link PruningHook}. The visual tokens are the prompt's
 * placeholder positions; text tokens are never dropped. Before a layer the session's
 * {@link AttentionNeeds} become an {@link AttentionRequest} (the last token's row, the rows of the
 * text queries after the first visual token, column sums); after it the captured attention is
 * sliced to the keys of the visual tokens still active, in prompt order, and the session's kept
 * positions are mapped back onto the layer's active tokens.
 *
 * <p>SpAtten's head pruning: when the session asks for head-output magnitudes the decoder captures
 * each query head's attention-output L1 over all of the prefill's active tokens (text and visual
 * queries alike, as SpAtten accumulates over every query) and passes it on unsliced; the session's
 * head masks ({@link DecoderPruningSession#headMask}) become the decoder's
 * {@link PruningHook#activeHeads}, which also hold for the decode steps after the prefill.
 */
final class DecoderLayerPruning implements PruningHook {

    private final Backend backend;
    private final DecoderPruningSession session;
    private final int[] visualPromptPositions;
    private boolean[] visual;
    private int firstVisual;
    private int[] queryRows;
    private int lastRow = -1;
    private int[] textRows;

    /**
     * @param visualPromptPositions prompt indices of the visual tokens, ascending; the session
     *                              starts over exactly these, in this order
     */
    DecoderLayerPruning(Backend backend, DecoderPruningSession session, int[] visualPromptPositions) {
        if (session.initialVisualTokens() != visualPromptPositions.length) {
            throw new IllegalArgumentException("decoder pruning over " + session.initialVisualTokens()
                    + " visual tokens, but the prompt holds " + visualPromptPositions.length);
        }
        this.backend = backend;
        this.session = session;
        this.visualPromptPositions = visualPromptPositions.clone();
    }

    @Override
    public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
        if (visual == null) {
            markVisual(activeTokens);
        }
        Optional<AttentionNeeds> needs = session.before(layer);
        if (needs.isEmpty()) {
            return Optional.empty();
        }
        AttentionNeeds n = needs.get();
        TreeSet<Integer> rows = new TreeSet<>();
        lastRow = n.lastTokenRow() ? activeTokens.length - 1 : -1;
        if (lastRow >= 0) {
            rows.add(lastRow);
        }
        List<Integer> text = new ArrayList<>();
        if (n.textQueryRows()) {
            for (int i = 0; i < activeTokens.length; i++) {
                if (!visual[activeTokens[i]] && activeTokens[i] > firstVisual) {
                    text.add(i);
                    rows.add(i);
                }
            }
        }
        textRows = text.stream().mapToInt(Integer::intValue).toArray();
        queryRows = rows.stream().mapToInt(Integer::intValue).toArray();
        return Optional.of(new AttentionRequest(queryRows, n.columnSums(), n.headOutputL1()));
    }

    @Override
    public boolean[] activeHeads(int layer) {
        return session.headMask(layer);
    }

    @Override
    public int[] keep(LayerAttention attention) {
        int[] active = attention.activeTokens();
        int[] visualActive = Arrays.stream(active).filter(t -> visual[t]).toArray();
        int n = visualActive.length;
        Map<Integer, Integer> column = new HashMap<>();
        int[] keys = attention.keyTokens();
        for (int k = 0; k < keys.length; k++) {
            column.put(keys[k], k);
        }
        int[] visualColumns = Arrays.stream(visualActive).map(column::get).toArray();
        int heads = attention.rowProbs() != null ? attention.rowProbs().dim(0)
                : attention.columnSums() != null ? attention.columnSums().dim(0) : 0;
        float[] rows = attention.rowProbs() == null ? null : attention.rowProbs().toFloatArray();
        try (Tensor last = lastRow < 0 ? null : Tensor.of(rowSlice(rows, heads, keys.length, new int[] {slot(lastRow)},
                visualColumns), heads, n);
             Tensor text = textRows.length == 0 || rows == null ? null
                     : Tensor.of(rowSlice(rows, heads, keys.length, Arrays.stream(textRows).map(this::slot).toArray(),
                     visualColumns), heads, textRows.length, n);
             Tensor sums = attention.columnSums() == null ? null
                     : Tensor.of(columnSlice(attention.columnSums().toFloatArray(), heads, keys.length,
                     visualColumns), heads, n)) {
            int[] keepVisual = session.afterLayer(backend, new DecoderAttention(attention.layer(), last, text, sums,
                    attention.headOutputL1()));
            boolean[] kept = new boolean[n];
            for (int p : keepVisual) {
                kept[p] = true;
            }
            int[] out = new int[active.length - n + keepVisual.length];
            int next = 0;
            int v = 0;
            for (int i = 0; i < active.length; i++) {
                if (!visual[active[i]] || kept[v++]) {
                    out[next++] = i;
                }
            }
            return out;
        }
    }

    /** The token-pruning session this hook drives (survivors, trace stages). */
    DecoderPruningSession session() {
        return session;
    }

    private void markVisual(int[] activeTokens) {
        int base = activeTokens[0];
        visual = new boolean[base + activeTokens.length];
        for (int p : visualPromptPositions) {
            visual[base + p] = true;
        }
        firstVisual = visualPromptPositions.length == 0 ? Integer.MAX_VALUE : base + visualPromptPositions[0];
    }

    /** Index of active row {@code row} among the captured query rows. */
    private int slot(int row) {
        return Arrays.binarySearch(queryRows, row);
    }

    /** [heads, slots.length, columns.length] from captured rows [heads, queryRows, keys]. */
    private float[] rowSlice(float[] rows, int heads, int keys, int[] slots, int[] columns) {
        float[] out = new float[heads * slots.length * columns.length];
        int o = 0;
        for (int h = 0; h < heads; h++) {
            for (int s : slots) {
                int base = (h * queryRows.length + s) * keys;
                for (int c : columns) {
                    out[o++] = rows[base + c];
                }
            }
        }
        return out;
    }

    private static float[] columnSlice(float[] sums, int heads, int keys, int[] columns) {
        float[] out = new float[heads * columns.length];
        int o = 0;
        for (int h = 0; h < heads; h++) {
            for (int c : columns) {
                out[o++] = sums[h * keys + c];
            }
        }
        return out;
    }
}
