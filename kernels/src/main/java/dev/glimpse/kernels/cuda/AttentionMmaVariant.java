package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The 16-bit prefill attention kernels of {@code attention_mma.cu} (BF16/F16 operands, F32
 * accumulation and softmax), chosen with {@code -Dglimpse.cuda.attentionMma=<name>}. All of them
 * round the same values the same way and sum in the same order, so they agree bit for bit.
 *
 * <p>The property is read at every launch, so a benchmark can compare variants in one JVM; a
 * captured graph keeps the variant it was captured with.
 */
public enum AttentionMmaVariant {

    /**
     * {@code attention_mma_<t>_d<D>}: 64 queries per block; each block copies F32 K and V tiles into
     * shared staging buffers and rounds them to 16 bits there (the first version, kept for A/B runs).
     */
    V1("v1", 0),
    /**
     * {@code attention_mma_packed_<t>_d<D>_w<4|8>}: K and V rounded once per call into packed 16-bit
     * [Hkv, S, D] by {@code attention_mma_pack_<t>}, then copied as 16-bit tiles straight into the
     * ldmatrix layout, double-buffered; 8 warps (128 queries) per block when the grid still fills
     * the GPU twice over, else 4 (64 queries). The default.
     */
    PACKED("v2", 0),
    /** The packed kernel with 4 warps (64 queries) per block, whatever the shape. */
    PACKED_4_WARPS("v2w4", 4),
    /** The packed kernel with 8 warps (128 queries) per block, whatever the shape. */
    PACKED_8_WARPS("v2w8", 8);

    /** The system property that picks the variant. */
    public static final String PROPERTY = "glimpse.cuda.attentionMma";

    /** The variant used when the property is not set. */
    public static final AttentionMmaVariant DEFAULT = PACKED;

    /** Blocks of 8 warps are chosen when there are at least this many per multiprocessor. */
    static final int WIDE_BLOCKS_PER_SM = 2;

    private final String id;
    private final int fixedWarps;

    AttentionMmaVariant(String id, int fixedWarps) {
        this.id = id;
        this.fixedWarps = fixedWarps;
    }

    /** The name the property takes, e.g. "v2". */
    public String id() {
        return id;
    }

    /**
     * Warps per block of the packed kernel for {@code tokens} queries over {@code queryHeads} heads
     * on a GPU of {@code multiprocessors} SMs, or 0 for {@link #V1} (not packed).
     */
    int warps(int tokens, int queryHeads, int multiprocessors) {
        if (this == V1) {
            return 0;
        }
        if (fixedWarps > 0) {
            return fixedWarps;
        }
        long wideBlocks = (tokens + 127L) / 128 * queryHeads;
        return wideBlocks >= (long) WIDE_BLOCKS_PER_SM * multiprocessors ? 8 : 4;
    }

    /** The variant the property names now, {@link #DEFAULT} when it is unset or blank. */
    public static AttentionMmaVariant configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The variant called {@code id} (case-insensitive); {@link #DEFAULT} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static AttentionMmaVariant parse(String id) {
        if (id == null || id.isBlank()) {
            return DEFAULT;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (AttentionMmaVariant v : values()) {
            if (v.id.equals(wanted)) {
                return v;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no attention kernel; known: "
                + Arrays.stream(values()).map(AttentionMmaVariant::id).collect(Collectors.joining(", ")));
    }
}
