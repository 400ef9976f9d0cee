package dev.glimpse.kernels.cuda;


/**
 * Block shape of the 16-bit prefill attention kernel for grids too small to fill the GPU, chosen with
 * {@code -Dglimpse.cuda.attentionSmallGrid=off|auto|w2|w2s2|w2s2b1|w2s4b1} (read at every launch;
 * {@value #ROPE_ATTENTION_PROPERTY} picks the fused RoPE + append + attention kernel's alone). One CLIP-L/336
 * image (577 queries, 16 heads of dim 64) is 160 blocks of {@code w4} (64 queries) on an H200's 132
 * SMs: one or two blocks per SM, each warp walking all 10 key tiles in turn, latency-bound (22.9 us
 * per layer, about 60 TFLOP/s, ncu, 2026-11-28). The shapes here trade that for more warps in flight:
 * <ul>
 *   <li>{@code w2}: 2 warps of 16 queries (32 per block), twice the blocks of {@code w4} (304 for CLIP),
 *       each still walking every key tile.</li>
 *   <li>{@code w2s2}: 32 queries per block as {@code w2}, each 16-row query warp served by 2 warps
 *       that walk alternate key tiles and merge their partial (max, sum, output) in shared memory at
 *       the end: 304 blocks of 4 warps for CLIP, half the serial key loop per warp. The same scores,
 *       another summation order (within the F32 accumulation's rounding of {@code w4}).</li>
 *   <li>{@code w2s2b1}: {@code w2s2} holding one round of key tiles instead of two (half the shared memory, the
 *       next round copied behind a barrier instead of during the current one): at padded dim 80 an SM holds 3
 *       blocks instead of 2 (45 KB each instead of 90 KB; 3 is what the registers allow).</li>
 *   <li>{@code w2s4b1}: 2 query warps of 16 queries, each served by 4 key-split warps (the 4 partials merged in
 *       group order), one round of key tiles: 8 warps per 32 queries, one block per SM. In the fused
 *       RoPE + append + attention kernel the block's 256 threads share its cache append (a 74-row prefill has
 *       only 2 key tiles, so the extra key warps mostly help there).</li>
 * </ul>
 * They replace only a {@code w4} choice of {@link AttentionMmaWarps} (its choice for grids under two
 * 128-query blocks per SM, or forced); other shapes are kept. {@link #OFF} keeps {@code w4}; every named shape
 * replaces every {@code w4}; {@link #AUTO} replaces it where the {@code w4} grid has fewer than
 * {@value #SMALL_GRID_BLOCKS_PER_SM} blocks per SM (CLIP's single image; LLaVA-7B's 586 x 32 image prefill,
 * 320 blocks, keeps {@code w4}): for causal attention (a decoder's short prefill: the fused RoPE + append + attention
 * kernel, and the kernels of the unfused pair and of the F32-row path, which must keep giving the fused kernel's
 * bits) with {@code w2s4b1} where its grid fits one block per SM and there are at most {@value #FOUR_WAY_MAX_ROWS}
 * queries, else not at all (causal grids keep {@code w4}); for bidirectional attention (towers) with {@code w2s2b1}
 * at padded head dim {@value #SINGLE_ROUND_DIM} and {@code w2s2} at the others.
 * Measured on the H200 ({@code AttentionShapesBench}, graph-replayed, 2026-11-29, bundle 0cd2153; us per call,
 * {@code w2s2} -> the new choice): SigLIP so400m on one image (729 x 16, D 72 padded to 80) 43.94 -> 31.94
 * (1.376x; {@code w4} 33.56); Llama-7B's 74-row rope-attention 7.67 -> 7.26 (1.056x), Qwen2-0.5B's 5.04 -> 4.81
 * (1.049x); CLIP-L/336 on one image keeps {@code w2s2} (19.24; {@code w2s2b1} 20.55, {@code w2s4b1} 30.62). Single-
 * round shapes of 1 query warp ({@code w1s2b1}, {@code w1s4b1}) lost on all four (0.55-0.80x) and were removed.
 * Longer causal grids, measured on the H200 ({@code AttentionShapesBench} via gpu-test.sh {@code attnshapes} with
 * {@code ATTN_SHAPES_ROWS}, graph-replayed, 2026-11-29, integration of d5e2496; us per call of the fused kernel,
 * {@code w4} / {@code w2s2} / {@code w2s4b1}): Llama-7B (32 heads of 128) at 128 rows 12.52 / 10.37 / 9.70 (w2s4b1's
 * grid fits: 128 blocks), at 144 rows 12.80 / 17.89 / 16.18, 154 13.52 / 18.28 / 16.62, 208 16.79 / 26.33 / 21.69,
 * 288 27.08 / 35.71 / 30.01 (past one w2s4b1 block per SM, where the rule before this one took w2s2: 1.32-1.57x
 * slower than w4); Qwen2-0.5B (14 heads over 2 of 64) at 208 rows 9.70 / 9.83 / 8.91, 240 10.86 / 11.03 / 10.58,
 * 288 12.11 / 13.63 / 13.55 (w2s4b1's grid still fits, hence the row bound).
 * Kernels no dispatch chose went on 2026-11-29: the images-as-heads ones of {@code w2s4b1} and of {@code w2s2b1} at
 * padded dims 64 and 128, and the fused RoPE + append + attention one of {@code w2s2b1}; forced there, those calls
 * decline and the composition (the packed or cache kernel of the shape) runs.
 * {@code w2s2} became the default in 2026-11-28 (commit 9a28fc1, one bench-llava.sh call,
 * bench/results/h200-llava-2026-11-28-session6-smallgrid.json: LLaVA-1.5-7B's CLIP tower 2.39 -> 2.33 ms,
 * TTFT at 64 VTC-CLS tokens 7.74 -> 7.41 ms). {@code PrefillAttentionBench} and {@code AttentionShapesBench}
 * print all of them.
 */
public enum AttentionSmallGrid {

    /** {@code w4} stays {@code w4}: the kernels before this choice existed. */
    OFF("off", null),
    /** A key-split shape in place of {@code w4} on grids of fewer than two {@code w4} blocks per SM. */
    AUTO("auto", null),
    /** 2 warps of 16 queries in place of every {@code w4}. */
    TWO_WARPS("w2", new AttentionMmaWarps.Block(2, 1)),
    /** 2 query warps of 16 queries with 2 key-split warps each, in place of every {@code w4}. */
    KEY_SPLIT("w2s2", new AttentionMmaWarps.Block(2, 1, 2)),
    /** {@code w2s2} holding one round of key tiles, in place of every {@code w4}. */
    KEY_SPLIT_SINGLE_ROUND("w2s2b1", new AttentionMmaWarps.Block(2, 1, 2, 1)),
    /** 2 query warps of 16 queries with 4 key-split warps each, one round of key tiles, in place of every {@code w4}. */
    FOUR_WAY_KEY_SPLIT("w2s4b1", new AttentionMmaWarps.Block(2, 1, 4, 1));

    /** The system property that picks the small-grid shape. */
    public static final String PROPERTY = "glimpse.cuda.attentionSmallGrid";

    /**
     * The system property that picks the shape of the fused RoPE + KV append + attention kernel
     * ({@code prefill_rope_attention}) alone, so a short prefill and a vision tower can take different shapes;
     * unset or blank: {@link #PROPERTY}'s choice.
     */
    public static final String ROPE_ATTENTION_PROPERTY = "glimpse.cuda.ropeAttentionSmallGrid";

    /** {@link #AUTO} replaces {@code w4} when its grid has fewer blocks than this per multiprocessor. */
    static final int SMALL_GRID_BLOCKS_PER_SM = 2;

    /**
     * The most queries for which {@link #AUTO} takes {@code w2s4b1} on a causal grid (Qwen2-0.5B at 288 rows fits
     * one {@code w2s4b1} block per SM and still runs 13.55 us against {@code w4}'s 12.11 on the H200).
     */
    static final int FOUR_WAY_MAX_ROWS = 256;

    /** The padded head dim at which {@link #AUTO} takes {@code w2s2b1} (shared memory, not registers, bounds {@code w2s2}). */
    static final int SINGLE_ROUND_DIM = 80;

    private static final AttentionMmaWarps.Block FOUR_WARPS = new AttentionMmaWarps.Block(4, 1);

    private final String id;
    private final AttentionMmaWarps.Block replacement;

    AttentionSmallGrid(String id, AttentionMmaWarps.Block replacement) {
        this.id = id;
        this.replacement = replacement;
    }

    /** The name the property takes, e.g. "w2s2". */
    public String id() {
        return id;
    }

    /**
     * The block shape to launch for {@code tokens} queries ({@code causal} or bidirectional) over {@code queryHeads}
     * heads of padded head dim {@code paddedDim} on a GPU of {@code multiprocessors} SMs, {@link AttentionMmaWarps}
     * having chosen {@code chosen}.
     */
    AttentionMmaWarps.Block block(AttentionMmaWarps.Block chosen, int tokens, int queryHeads, int paddedDim,
                                  boolean causal, int multiprocessors) {
        if (this == OFF || !chosen.equals(FOUR_WARPS)) {
            return chosen;
        }
        if (replacement != null) {
            return replacement;
        }
        if (!smallGrid(tokens, queryHeads, multiprocessors)) {
            return chosen;
        }
        if (causal) {
            AttentionMmaWarps.Block fourWay = FOUR_WAY_KEY_SPLIT.replacement;
            long fourWayBlocks = (tokens + fourWay.queries() - 1L) / fourWay.queries() * queryHeads;
            return fourWayBlocks <= multiprocessors && tokens <= FOUR_WAY_MAX_ROWS ? fourWay : chosen;
        }
        return paddedDim == SINGLE_ROUND_DIM ? KEY_SPLIT_SINGLE_ROUND.replacement : KEY_SPLIT.replacement;
    }

    /** Whether the {@code w4} grid has fewer than {@value #SMALL_GRID_BLOCKS_PER_SM} blocks per SM. */
    private static boolean smallGrid(int tokens, int queryHeads, int multiprocessors) {
        long blocks = (tokens + FOUR_WARPS.queries() - 1L) / FOUR_WARPS.queries() * queryHeads;
        return blocks < (long) SMALL_GRID_BLOCKS_PER_SM * multiprocessors;
    }

    /** The choice the property names now, {@link #AUTO} when it is unset or blank. */
    public static AttentionSmallGrid configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /** The fused RoPE + append + attention kernel's choice now: {@link #ROPE_ATTENTION_PROPERTY}'s where set, else {@link #configured()}. */
    public static AttentionSmallGrid configuredForRopeAttention() {
        String id = System.getProperty(ROPE_ATTENTION_PROPERTY);
        return id == null || id.isBlank() ? configured() : parse(id, ROPE_ATTENTION_PROPERTY);
    }

    /**
     * The choice called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static AttentionSmallGrid parse(String id) {
        return parse(id, PROPERTY);
    }

    private static AttentionSmallGrid parse(String id, String property) {
        return PropertyChoice.parse(property, id, AUTO, values(), AttentionSmallGrid::id,
                "small-grid shape of the 16-bit attention kernel");
    }
}
