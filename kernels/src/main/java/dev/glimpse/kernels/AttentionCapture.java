package dev.glimpse.kernels;

/**
 * What an {@link Backend#attention} call should record besides its output, for pruning scores.
 * Each field is optional (null = not wanted); nothing is captured, and nothing slows down, when
 * no capture is passed.
 *
 * @param queryRows    query indices whose softmax rows to keep (e.g. the CLS row, the last token)
 * @param rowProbs     output [heads, queryRows.length, keys]: softmax probabilities of those rows
 * @param columnSums   output [heads, keys]: per head, attention received by each key summed over
 *                     all queries (divide by the query count for the mean); SpAtten accumulates it
 */
public record AttentionCapture(int[] queryRows, Tensor rowProbs, Tensor columnSums) {

    public static AttentionCapture rows(int[] queryRows, Tensor rowProbs) {
        return new AttentionCapture(queryRows, rowProbs, null);
    }

    public static AttentionCapture columnSums(Tensor columnSums) {
        return new AttentionCapture(null, null, columnSums);
    }
}
