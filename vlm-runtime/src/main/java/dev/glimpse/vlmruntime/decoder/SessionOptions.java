package dev.glimpse.vlmruntime.decoder;

/**
 * Per-sequence settings of a {@link DecoderSession}.
 *
 * @param maxSequenceLength tokens the session may hold (prompt plus generated); its KV cache, allocated
 *                          up front, holds this many or more: the capacity bucket above it
 *                          ({@code -Dglimpse.decoder.capacityBucket}, 256 entries by default), or a
 *                          larger pooled set; only padded prefill rows write the extra entries
 * @param prefillChunkSize  rows processed at once per layer during prefill; bounds scratch memory
 *                          ({@code chunk x intermediate} floats) without changing results;
 *                          {@link #AUTO_PREFILL_CHUNK} lets the session choose for its backend
 *                          ({@link #prefillRows})
 * @param positionMode      positions of tokens kept by a {@link PruningHook}
 */
public record SessionOptions(int maxSequenceLength, int prefillChunkSize, PositionMode positionMode) {

    /** Rows per prefill chunk on the host (CPU caches favour small blocks of rows). */
    public static final int DEFAULT_PREFILL_CHUNK = 256;

    /** prefillChunkSize meaning "the session chooses for its backend" ({@link #prefillRows}). */
    public static final int AUTO_PREFILL_CHUNK = 0;

    /**
     * Scratch memory an automatic prefill chunk may use on a GPU: 1 GiB holds every row of a
     * 13,000-token prefill of a Qwen2-0.5B-shaped decoder, or 4,000 of a Llama-7B-shaped one.
     */
    public static final long DEVICE_PREFILL_SCRATCH_BYTES = 1L << 30;

    public SessionOptions {
        if (maxSequenceLength < 1 || prefillChunkSize < AUTO_PREFILL_CHUNK) {
            throw new IllegalArgumentException("maxSequenceLength must be >= 1 and prefillChunkSize >= 1 (or "
                    + AUTO_PREFILL_CHUNK + " for automatic), got " + maxSequenceLength + " and " + prefillChunkSize);
        }
        if (positionMode == null) {
            throw new IllegalArgumentException("positionMode must not be null");
        }
    }

    /** Capacity {@code maxSequenceLength}, automatic prefill chunks, original positions. */
    public static SessionOptions of(int maxSequenceLength) {
        return new SessionOptions(maxSequenceLength, AUTO_PREFILL_CHUNK, PositionMode.ORIGINAL);
    }

    /**
     * Rows per prefill chunk, at most {@code maxSequenceLength}: the size given, or when automatic
     * {@value #DEFAULT_PREFILL_CHUNK} on the host and on a GPU as many rows as
     * {@value #DEVICE_PREFILL_SCRATCH_BYTES} bytes of scratch hold at {@code scratchBytesPerRow}
     * (never fewer than {@value #DEFAULT_PREFILL_CHUNK}). On a GPU small chunks cost: each chunk
     * of each layer is a round of launches, and a chunk's attention grid has only
     * {@code chunk / 64 x heads} blocks, too few to fill the device, while it reads the whole cache
     * before it (a 6,296-token prompt in chunks of 256 runs 25 such rounds per layer).
     */
    public int prefillRows(boolean onHost, long scratchBytesPerRow) {
        if (scratchBytesPerRow < 1) {
            throw new IllegalArgumentException("scratchBytesPerRow must be >= 1, got " + scratchBytesPerRow);
        }
        long rows = prefillChunkSize != AUTO_PREFILL_CHUNK ? prefillChunkSize
                : onHost ? DEFAULT_PREFILL_CHUNK
                : Math.max(DEFAULT_PREFILL_CHUNK, DEVICE_PREFILL_SCRATCH_BYTES / scratchBytesPerRow);
        return (int) Math.min(rows, maxSequenceLength);
    }

    public SessionOptions withPrefillChunkSize(int size) {
        return new SessionOptions(maxSequenceLength, size, positionMode);
    }

    public SessionOptions withPositionMode(PositionMode mode) {
        return new SessionOptions(maxSequenceLength, prefillChunkSize, mode);
    }
}
