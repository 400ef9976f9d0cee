package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Warps per block of the 16-bit prefill attention kernel ({@code attention_mma_packed_<t>_d<D>_w<4|8>}
 * in {@code attention_mma.cu}), chosen with {@code -Dglimpse.cuda.attentionMma=auto|w4|w8}. Each warp
 * owns 16 queries either way, so the choice only trades block size against grid fill: 8 warps
 * share each K and V tile between 128 queries, 4 warps leave twice as many blocks to spread over
 * the SMs. {@link #AUTO} (the default) decides by shape; {@code w4} and {@code w8} force one, for
 * A/B runs ({@code PrefillAttentionBench}) and tests.
 *
 * <p>The property is read at every launch, so a benchmark can compare both in one JVM; a captured
 * graph keeps the choice it was captured with.
 */
public enum AttentionMmaWarps {

    /** 8 warps (128 queries) per block when the grid still fills the GPU twice over, else 4 (64 queries). */
    AUTO("auto", 0),
    /** 4 warps (64 queries) per block, whatever the shape. */
    FOUR("w4", 4),
    /** 8 warps (128 queries) per block, whatever the shape. */
    EIGHT("w8", 8);

    /** The system property that picks the warps. */
    public static final String PROPERTY = "glimpse.cuda.attentionMma";

    /** Blocks of 8 warps are chosen when there are at least this many per multiprocessor. */
    static final int WIDE_BLOCKS_PER_SM = 2;

    private final String id;
    private final int fixedWarps;

    AttentionMmaWarps(String id, int fixedWarps) {
        this.id = id;
        this.fixedWarps = fixedWarps;
    }

    /** The name the property takes, e.g. "w8". */
    public String id() {
        return id;
    }

    /**
     * Warps per block (4 or 8) for {@code tokens} queries over {@code queryHeads} heads on a GPU of
     * {@code multiprocessors} SMs.
     */
    int warps(int tokens, int queryHeads, int multiprocessors) {
        if (fixedWarps > 0) {
            return fixedWarps;
        }
        long wideBlocks = (tokens + 127L) / 128 * queryHeads;
        return wideBlocks >= (long) WIDE_BLOCKS_PER_SM * multiprocessors ? 8 : 4;
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
        if (id == null || id.isBlank()) {
            return AUTO;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (AttentionMmaWarps w : values()) {
            if (w.id.equals(wanted)) {
                return w;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no warp count of the 16-bit attention kernel; known: "
                + Arrays.stream(values()).map(AttentionMmaWarps::id).collect(Collectors.joining(", ")));
    }
}
