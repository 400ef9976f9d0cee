package dev.glimpse.tokenpruning;

/**
 * What a decoder-layer strategy needs captured at one layer during prefill, over the current
 * visual tokens (see {@link DecoderAttention} for the shapes). The model turns this into its
 * attention-capture request: the last token's row, the rows of the text queries after the first
 * visual token, column sums over all queries.
 */
public record AttentionNeeds(boolean lastTokenRow, boolean textQueryRows, boolean columnSums, boolean headOutputL1) {

    public static AttentionNeeds lastRow() {
        return new AttentionNeeds(true, false, false, false);
    }
}
