package dev.glimpse.vlmruntime.decoder;

/**
 * The attention a {@link PruningHook} wants captured at one layer during prefill. Capturing does
 * not change the layer's output.
 *
 * @param queryRows  rows (indices into the layer's active tokens of this prefill) whose softmax
 *                   probabilities over every key to capture, e.g. the last token for FastV; empty
 *                   for none
 * @param sumColumns whether to capture, per head, each key's attention summed over all queries of
 *                   this prefill (SpAtten's accumulated importance)
 * @param headOutputL1 whether to capture, per query head, the L1 magnitude of the attention output
 *                   summed over all queries of this prefill (SpAtten's head importance)
 */
public record AttentionRequest(int[] queryRows, boolean sumColumns, boolean headOutputL1) {

    public AttentionRequest {
        queryRows = queryRows.clone();
    }

    public AttentionRequest(int[] queryRows, boolean sumColumns) {
        this(queryRows, sumColumns, false);
    }

    /** Nothing captured; the hook decides from other information. */
    public static AttentionRequest none() {
        return new AttentionRequest(new int[0], false);
    }

    /** The probability rows of {@code rows}. */
    public static AttentionRequest rows(int... rows) {
        return new AttentionRequest(rows, false);
    }

    /** Per-head column sums over all queries. */
    public static AttentionRequest columns() {
        return new AttentionRequest(new int[0], true);
    }

    @Override
    public int[] queryRows() {
        return queryRows.clone();
    }
}
