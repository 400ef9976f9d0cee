package dev.glimpse.kernels.cuda;


/**
 * Block shape of the 16-bit prefill attention kernel ({@code attention_mma_packed_<t>_d<D>_<shape>}
 * in {@code attention_mma.cu}), chosen with
 * {@code -Dglimpse.cuda.attentionMma=auto|auto16|w4|w8|w4x2}. The kernels compute the same thing
 * row for row; they differ in how the queries are spread over warps and blocks:
 * <ul>
 *   <li>{@code w4}, {@code w8}: 4 or 8 warps of 16 queries each (64 or 128 per block); 8 warps share
 *       each K and V tile between 128 queries, 4 warps leave twice as many blocks to fill the SMs.</li>
 *   <li>{@code w4x2}: 4 warps of two 16-query tiles each (128 per block, FlashAttention-2's shape), so
 *       every K and V fragment read from shared memory feeds twice the tensor-core work, and causal
 *       grids start their longest blocks first (see the kernel's notes).</li>
 * </ul>
 * {@link #AUTO} (the default) takes {@code w4x2} for head dims of at most 64 (padded) when its grid
 * fills the GPU twice over, {@code w8} for wider heads on such grids, else {@code w4}. Measured on an
 * H200 (PrefillAttentionBench, 2026-11-28, bundle 5c7c4ab): Qwen2's video prefill (6296 causal,
 * D 64) 0.386 -> 0.325 ms with w4x2 (1.19x), SigLIP so400m x 32 frames (D 72, padded 80) 0.549 ms
 * with w8 but 0.623 ms with w4x2 (0.88x: past 64 the kernel re-reads its queries from shared memory
 * each key tile, as registers would spill). {@link #AUTO16} is the choice before {@code w4x2} existed ({@code w8} or {@code w4} by
 * the same rule), kept so the two can be compared and the older kernels restored without a rebuild.
 *
 * <p>The property is read at every launch, so a benchmark can compare the shapes in one JVM; a
 * captured graph keeps the choice it was captured with.
 */
public enum AttentionMmaWarps {

    /**
     * On grids of at least two 128-query blocks per multiprocessor {@code w4x2} (padded head dim at
     * most {@value #TWO_TILE_MAX_DIM}) or {@code w8}; else {@code w4}.
     */
    AUTO("auto", null),
    /** {@code w8} when the grid has at least two 128-query blocks per multiprocessor, else {@code w4}. */
    AUTO16("auto16", null),
    /** 4 warps of 16 queries (64 per block), whatever the shape. */
    FOUR("w4", new Block(4, 1)),
    /** 8 warps of 16 queries (128 per block), whatever the shape. */
    EIGHT("w8", new Block(8, 1)),
    /** 4 warps of two 16-query tiles (128 per block), whatever the shape. */
    FOUR_BY_TWO("w4x2", new Block(4, 2));

    /** The system property that picks the block shape. */
    public static final String PROPERTY = "glimpse.cuda.attentionMma";

    /** The 128-query shapes are chosen when there are at least this many of their blocks per multiprocessor. */
    static final int WIDE_BLOCKS_PER_SM = 2;

    /** Widest padded head dim {@link #AUTO} sends to {@code w4x2}, whose queries stay in registers up to it. */
    static final int TWO_TILE_MAX_DIM = 64;

    private final String id;
    private final Block fixed;

    AttentionMmaWarps(String id, Block fixed) {
        this.id = id;
        this.fixed = fixed;
    }

    /** The name the property takes, e.g. "w4x2". */
    public String id() {
        return id;
    }

    /**
     * The block shape for {@code tokens} queries over {@code queryHeads} heads of padded head dim
     * {@code paddedDim} on a GPU of {@code multiprocessors} SMs.
     */
    Block block(int tokens, int queryHeads, int paddedDim, int multiprocessors) {
        if (fixed != null) {
            return fixed;
        }
        long wideBlocks = (tokens + 127L) / 128 * queryHeads;
        if (wideBlocks < (long) WIDE_BLOCKS_PER_SM * multiprocessors) {
            return FOUR.fixed;
        }
        return this == AUTO && paddedDim <= TWO_TILE_MAX_DIM ? FOUR_BY_TWO.fixed : EIGHT.fixed;
    }

    /** The choice the property names now, {@link #AUTO} when it is unset or blank. */
    public static AttentionMmaWarps configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The choice called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static AttentionMmaWarps parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, AUTO, values(), AttentionMmaWarps::id, "block shape of the 16-bit attention kernel");
    }

    /**
     * A block of the 16-bit kernel: {@code warps} query warps, each over {@code queryTiles} tiles of 16
     * queries and served by {@code keySplit} warps that walk every {@code keySplit}-th key tile of its
     * rows (1: the warp walks them all; 2 or 4: the key-split shapes of {@link AttentionSmallGrid}, whose
     * warps merge their partial softmax sums at the end), holding {@code buffers} rounds of K and V tiles
     * in shared memory (2: double-buffered; 1: one round, refilled behind a barrier, key-split shapes
     * only). Its kernel name ends in {@link #suffix()}.
     */
    record Block(int warps, int queryTiles, int keySplit, int buffers) {

        /** A block whose query warps walk every key tile themselves. */
        Block(int warps, int queryTiles) {
            this(warps, queryTiles, 1);
        }

        /** A double-buffered block. */
        Block(int warps, int queryTiles, int keySplit) {
            this(warps, queryTiles, keySplit, 2);
        }

        /** Queries per block. */
        int queries() {
            return warps * 16 * queryTiles;
        }

        /** Threads per block: 32 per warp, {@code keySplit} warps per query warp. */
        int threads() {
            return warps * keySplit * 32;
        }

        /** "w2", "w4", "w8", "w4x2", "w2s2", "w2s4b1": the end of the kernel's name. */
        String suffix() {
            return "w" + warps + (queryTiles > 1 ? "x" + queryTiles : "") + (keySplit > 1 ? "s" + keySplit : "")
                    + (buffers == 1 ? "b1" : "");
        }
    }
}
