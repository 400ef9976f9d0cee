package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Which online decode kernel ({@link OnlineDecodePlan}) reads a 16-bit cache for 8-head groups (its
 * HP 8, e.g. Qwen2's 7 query heads per KV head), chosen with
 * {@code -Dglimpse.cuda.decodeOnline16=current|passes|passes_early} (read at every call; a captured
 * graph keeps the kernel it was captured with). Other head groups, F32 caches and the scalar-load
 * kernels run decode.cu's kernel whatever the property says. All compute F32 scores, softmax and sums
 * (within the CPU tolerance of each other, not the same bits: the dot products are summed in another
 * order) with the same grid, workspace and fused last-block merge.
 */
enum OnlineDecode16 {

    /**
     * {@code attention_decode_online_<t>_vec8_h8} (decode.cu): the 8 heads' dot products scored at
     * once, 4 key entries per 8-byte load (8 per 16-byte load would take more registers than there
     * are). {@code -Dglimpse.cuda.decodeOnline16=current}.
     */
    CURRENT("current", ""),
    /**
     * {@code attention_decode_online_<t>_vec8_h8_passes} ({@value #PASSES_MODULE}): 8 entries per
     * 16-byte load, the heads scored in two passes of 4 over the same key rows (loaded once for both
     * up to D 64; 246 registers on sm_90, no spills), the tile's value rows and the warp's next key
     * rows prefetched into L2 when a tile starts.
     */
    PASSES("passes", "_passes"),
    /**
     * {@code attention_decode_online_<t>_vec8_h8_passes_early}: {@link #PASSES}, and each block first
     * prefetches its split's whole key and value chunk into L2 before its grid-dependency wait, so that
     * with programmatic dependent launch the HBM reads overlap the previous kernel. The default: on the
     * H200 (2026-11-28, commit 2f0b8f0, one bench-llava.sh call) OneVision decoded 910.8 tok/s with it over a
     * BF16 cache against 906.3 with the F32 cache, where {@link #CURRENT} over BF16 had been 10% slower
     * than F32 (830.1 vs 924.7, session 5).
     */
    PASSES_EARLY("passes_early", "_passes_early");

    /** The module (fatbin) of the {@link #PASSES} and {@link #PASSES_EARLY} kernels. */
    static final String PASSES_MODULE = "decode_online16";

    /** The system property that picks the kernel. */
    static final String PROPERTY = "glimpse.cuda.decodeOnline16";

    /** The padded head count (the kernel's HP) that has the {@link #PASSES_MODULE} kernels. */
    static final int PASSES_HEADS = 8;

    private final String id;
    private final String suffix;

    OnlineDecode16(String id, String suffix) {
        this.id = id;
        this.suffix = suffix;
    }

    /** The name the property takes, e.g. "passes". */
    String id() {
        return id;
    }

    /**
     * The kernel name suffix for a cache of dtype {@code cache}, 16-byte loads or not ({@code vector})
     * and {@code paddedHeads} heads: this choice's where it has a kernel, else none.
     */
    String suffix(DType cache, boolean vector, int paddedHeads) {
        return cache != DType.F32 && vector && paddedHeads == PASSES_HEADS ? suffix : "";
    }

    /** The module holding the kernel {@link #suffix} names for these arguments: decode_online16 or decode. */
    String module(DType cache, boolean vector, int paddedHeads) {
        return suffix(cache, vector, paddedHeads).isEmpty() ? CudaDecodeAttention.MODULE : PASSES_MODULE;
    }

    /** The configured kernel, {@link #PASSES_EARLY} when the property is unset or blank. */
    static OnlineDecode16 configured() {
        String value = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (value.isEmpty()) {
            return PASSES_EARLY;
        }
        for (OnlineDecode16 s : values()) {
            if (s.id.equals(value)) {
                return s;
            }
        }
        throw new TensorException("-D" + PROPERTY + "=" + value + " is not one of "
                + Arrays.stream(values()).map(OnlineDecode16::id).collect(Collectors.joining(", ")));
    }
}
