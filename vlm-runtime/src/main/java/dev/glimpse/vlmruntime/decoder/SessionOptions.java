package dev.glimpse.vlmruntime.decoder;

/**
 * Per-sequence settings of a {@link DecoderSession}.
 *
 * @param maxSequenceLength KV cache capacity in tokens (prompt plus generated), allocated up front
 * @param prefillChunkSize  rows processed at once per layer during prefill; bounds scratch memory
 *                          ({@code chunk x intermediate} floats) without changing results
 * @param positionMode      positions of tokens kept by a {@link PruningHook}
 */
public record SessionOptions(int maxSequenceLength, int prefillChunkSize, PositionMode positionMode) {

    public static final int DEFAULT_PREFILL_CHUNK = 256;

    public SessionOptions {
        if (maxSequenceLength < 1 || prefillChunkSize < 1) {
            throw new IllegalArgumentException("maxSequenceLength and prefillChunkSize must be >= 1, got "
                    + maxSequenceLength + " and " + prefillChunkSize);
        }
        if (positionMode == null) {
            throw new IllegalArgumentException("positionMode must not be null");
        }
    }

    /** Capacity {@code maxSequenceLength}, chunks of {@value #DEFAULT_PREFILL_CHUNK}, original positions. */
    public static SessionOptions of(int maxSequenceLength) {
        return new SessionOptions(maxSequenceLength, DEFAULT_PREFILL_CHUNK, PositionMode.ORIGINAL);
    }

    public SessionOptions withPrefillChunkSize(int size) {
        return new SessionOptions(maxSequenceLength, size, positionMode);
    }

    public SessionOptions withPositionMode(PositionMode mode) {
        return new SessionOptions(maxSequenceLength, prefillChunkSize, mode);
    }
}
