package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.TensorException;

/**
 * How flash-decoding ({@code attention_decode_split} and {@code attention_decode_combine} in
 * decode.cu) covers one layer's caches [Hkv, capacity, D] for Hq query heads: each kv head's group
 * of query heads is taken by {@link #headBlocks()} blocks of up to {@value #MAX_HEADS_PER_BLOCK}
 * heads, and the keys by {@link #splits()} blocks. The kernel sizes each split's chunk from the
 * key count at run time (at least {@value #MIN_CHUNK} keys, so short contexts use few splits); the
 * plan depends on the capacity and shape only, so one captured graph serves every count.
 *
 * <p>Splits: enough blocks for {@value #BLOCKS_PER_SM} per multiprocessor, no more than chunks of
 * {@value #MIN_CHUNK} keys of a full cache, and at least enough that a full cache's chunks fit the
 * kernel's score buffer of {@value #MAX_CHUNK} keys per head.
 */
record FlashDecodePlan(int headsPerBlock, int headBlocks, int splits) {

    /** Threads per block of both kernels (DEC_THREADS). */
    static final int THREADS = 128;
    /** Query heads one split block scores together (DEC_MAX_HEADS). */
    static final int MAX_HEADS_PER_BLOCK = 8;
    /** Fewest keys per split (DEC_MIN_CHUNK). */
    static final int MIN_CHUNK = 64;
    /** Most keys per split, the kernel's score buffer per head (DEC_MAX_CHUNK). */
    static final int MAX_CHUNK = 256;
    static final int BLOCKS_PER_SM = 4;
    /** The largest grid y dimension. */
    private static final int MAX_SPLITS = 65535;

    static FlashDecodePlan of(int hq, int hkv, int capacity, int multiprocessors) {
        int group = hq / hkv;
        int headsPerBlock = ceilDiv(group, ceilDiv(group, MAX_HEADS_PER_BLOCK));
        int headBlocks = ceilDiv(group, headsPerBlock);
        int needed = Math.max(1, ceilDiv(capacity, MAX_CHUNK));
        int useful = Math.max(1, ceilDiv(capacity, MIN_CHUNK));
        int fill = Math.max(1, ceilDiv(BLOCKS_PER_SM * multiprocessors, hkv * headBlocks));
        int splits = Math.max(needed, Math.min(fill, useful));
        if (splits > MAX_SPLITS) {
            throw new TensorException("decodeAttention: a KV cache of capacity " + capacity + " needs " + splits
                    + " splits of at most " + MAX_CHUNK + " keys, more than the grid's " + MAX_SPLITS
                    + "; use a capacity of at most " + (long) MAX_SPLITS * MAX_CHUNK + " tokens");
        }
        return new FlashDecodePlan(headsPerBlock, headBlocks, splits);
    }

    /**
     * Dynamic shared memory of {@code attention_decode_split} reading {@code width} cache entries per
     * load (1, 4 for the F32 {@code _vec4} kernels, 8 for the 16-bit {@code _vec8} ones): queries
     * [heads][D], scores [heads][{@value #MAX_CHUNK}] and the P V partials of its key groups
     * [groups][heads][D], groups = {@value #THREADS} / (D / width). At most 44 KiB (8 heads, D 128,
     * width 8: the 16-bit {@code _vec8} kernels run head dims up to 128; D 256 at width 4 takes 32 KiB),
     * within the default 48 KiB with the kernel's static shared memory.
     */
    int sharedBytes(int d, int width) {
        int columns = d / width;
        int groups = Math.max(1, THREADS / columns);
        return (headsPerBlock * d + headsPerBlock * MAX_CHUNK + groups * headsPerBlock * d) * Float.BYTES;
    }

    /** Workspace floats: partial sums [Hq, splits, D], then (max, sum) pairs [Hq, splits, 2]. */
    long workspaceFloats(int hq, int d) {
        return (long) hq * splits * (d + 2);
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
