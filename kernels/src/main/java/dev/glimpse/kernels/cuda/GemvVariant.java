package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The decode GEMV kernels of {@code gemv.cu} (F16/BF16 weights, at most 8 rows of F32 x, F32
 * products and sums), chosen with {@code -Dglimpse.cuda.gemv=<name>}. All of them compute the
 * same result up to summation order, and each sums in a fixed order, so a run is repeatable.
 * Every variant but {@link #WARP} needs the vector case (k % 8 == 0, 16-byte aligned x and
 * weight rows); other shapes take {@link #WARP}'s scalar path.
 *
 * <p>The property is read at every launch, so a benchmark can switch variants in one JVM; a
 * captured graph keeps the variant it was captured with.
 */
public enum GemvVariant {

    /** {@code gemv_half_weights}: one warp per output feature, x re-read through L1 per feature. */
    WARP("warp", "gemv_half_weights", 1, false),
    /** {@code gemv_half_split}: one feature per warp group, k split over up to 8 warps, 4 loads in flight per lane. */
    SPLIT("split", "gemv_half_split", 1, false),
    /** {@code gemv_half_multi2}: 2 features per warp share each x load; 8 loads in flight per lane. */
    MULTI2("multi2", "gemv_half_multi2", 2, false),
    /** {@code gemv_half_multi4}: 4 features per warp share each x load; 8 loads in flight per lane. The default. */
    MULTI4("multi4", "gemv_half_multi4", 4, false),
    /**
     * {@code gemv_half_smem}: as multi4 with x staged in shared memory and one wave of blocks walking
     * the features; where rows x k floats do not fit in a block's shared memory, multi4 runs instead.
     */
    SMEM("smem", "gemv_half_smem", 4, true);

    /** The system property that picks the variant. */
    public static final String PROPERTY = "glimpse.cuda.gemv";

    /** The variant used when the property is not set: the fewest x loads per weight byte with x in L1. */
    public static final GemvVariant DEFAULT = MULTI4;

    private final String id;
    private final String kernel;
    private final int featuresPerWarp;
    private final boolean sharedX;

    GemvVariant(String id, String kernel, int featuresPerWarp, boolean sharedX) {
        this.id = id;
        this.kernel = kernel;
        this.featuresPerWarp = featuresPerWarp;
        this.sharedX = sharedX;
    }

    /** The name the property takes, e.g. "multi4". */
    public String id() {
        return id;
    }

    /** The kernel for rows of x; the multi-feature kernels have a leaner one-row build ({@code _1}). */
    String kernel(int rows) {
        return rows == 1 && featuresPerWarp > 1 ? kernel + "_1" : kernel;
    }

    /** Output features each warp (group of k-split warps) computes. */
    int featuresPerWarp() {
        return featuresPerWarp;
    }

    /** True when the kernel stages x in dynamic shared memory and walks features grid-stride. */
    boolean sharedX() {
        return sharedX;
    }

    /** The variant the property names now, {@link #DEFAULT} when it is unset or blank. */
    public static GemvVariant configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The variant called {@code id} (case-insensitive); {@link #DEFAULT} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static GemvVariant parse(String id) {
        if (id == null || id.isBlank()) {
            return DEFAULT;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (GemvVariant v : values()) {
            if (v.id.equals(wanted)) {
                return v;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no GEMV kernel; use one of "
                + Arrays.stream(values()).map(GemvVariant::id).collect(Collectors.joining(", ")));
    }
}
