package dev.glimpse.kernels.cuda;


/**
 * The decode GEMV kernels of {@code gemv.cu} (F16/BF16 weights, at most 8 rows of F32 x, F32
 * products and sums), chosen with {@code -Dglimpse.cuda.gemv=multi4|warp}. Both compute the same
 * result up to summation order, and each sums in a fixed order, so a run is repeatable.
 * {@link #MULTI4} is the decode kernel and needs the vector case (k % 8 == 0, 16-byte aligned x
 * and weight rows); other shapes take {@link #WARP}'s scalar path whatever the property says.
 * Forcing {@link #WARP} on vector shapes is for A/B runs ({@code GemvBench}) and for the tests of
 * its vector path.
 *
 * <p>The property is read at every launch, so a benchmark can switch kernels in one JVM; a
 * captured graph keeps the kernel it was captured with.
 */
public enum GemvVariant {

    /**
     * {@code gemv_half_weights}: one warp per output feature, x re-read through L1 per feature. The
     * fallback for every shape outside the vector case.
     */
    WARP("warp", "gemv_half_weights"),
    /**
     * {@code gemv_half_multi4}: 4 features per warp share each x load, 8 16-byte weight loads in
     * flight per lane, k split over up to 8 warps (68% of HBM bandwidth on an H200). The default.
     */
    MULTI4("multi4", "gemv_half_multi4");

    /** The system property that picks the kernel. */
    public static final String PROPERTY = "glimpse.cuda.gemv";

    /** The kernel used when the property is not set. */
    public static final GemvVariant DEFAULT = MULTI4;

    /** Output features each warp (group of k-split warps) of {@link #MULTI4} computes. */
    static final int MULTI4_FEATURES_PER_WARP = 4;

    private final String id;
    private final String kernel;

    GemvVariant(String id, String kernel) {
        this.id = id;
        this.kernel = kernel;
    }

    /** The name the property takes, e.g. "multi4". */
    public String id() {
        return id;
    }

    /** The kernel for rows of x; {@link #MULTI4} has a leaner one-row build ({@code _1}). */
    String kernel(int rows) {
        return rows == 1 && this == MULTI4 ? kernel + "_1" : kernel;
    }

    /** The kernel the property names now, {@link #DEFAULT} when it is unset or blank. */
    public static GemvVariant configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The kernel called {@code id} (case-insensitive); {@link #DEFAULT} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static GemvVariant parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, DEFAULT, values(), GemvVariant::id, "GEMV kernel");
    }
}
