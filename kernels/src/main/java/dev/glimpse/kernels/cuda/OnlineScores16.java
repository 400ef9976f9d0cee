package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How the online decode kernel ({@link OnlineDecodePlan}) scores keys of a 16-bit cache for 8-head
 * groups (its HP 8, e.g. Qwen2's 7 query heads per KV head), chosen with
 * {@code -Dglimpse.cuda.decodeOnline16=current|passes} (read at every call; a captured graph keeps
 * the kernel it was captured with). Other head groups, F32 caches and the scalar-load kernels run
 * the same kernel either way. Both compute F32 scores, softmax and sums (within the CPU tolerance,
 * not the same bits: the dot products are summed in another order).
 */
enum OnlineScores16 {

    /**
     * {@code attention_decode_online_<t>_vec8_h8}: the 8 heads' dot products scored at once, 4 key
     * entries per 8-byte load (8 per 16-byte load would take more registers than there are). The default.
     */
    CURRENT("current", ""),
    /**
     * {@code attention_decode_online_<t>_vec8_h8_passes} (module {@value #PASSES_MODULE}): 8 entries per 16-byte load, the heads scored
     * in two passes of 4 over the same key rows (220 registers, no spills, sm_90), and the tile's value
     * rows and the warp's next key rows prefetched into L2 when a tile starts. Not yet measured on a GPU.
     */
    PASSES("passes", "_passes");

    /** The module (fatbin) of the {@link #PASSES} kernels; the others are decode.cu's. */
    static final String PASSES_MODULE = "decode_online16";

    /** The system property that picks the scoring. */
    static final String PROPERTY = "glimpse.cuda.decodeOnline16";

    /** The padded head count (the kernel's HP) that has a {@link #PASSES} kernel. */
    static final int PASSES_HEADS = 8;

    private final String id;
    private final String suffix;

    OnlineScores16(String id, String suffix) {
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

    /** The configured scoring, {@link #CURRENT} when the property is unset or blank. */
    static OnlineScores16 configured() {
        String value = System.getProperty(PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (value.isEmpty()) {
            return CURRENT;
        }
        for (OnlineScores16 s : values()) {
            if (s.id.equals(value)) {
                return s;
            }
        }
        throw new TensorException("-D" + PROPERTY + "=" + value + " is not one of "
                + Arrays.stream(values()).map(OnlineScores16::id).collect(Collectors.joining(", ")));
    }
}
