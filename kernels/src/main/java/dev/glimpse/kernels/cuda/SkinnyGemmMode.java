package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Whether linear layers with F16/BF16 weights and 9..{@value SkinnyGemmPlan#MAX_ROWS} rows of x
 * (prefill of a pruned image, a short prompt) take the skinny tensor-core kernel of
 * {@code gemm_skinny.cu} ({@link #AUTO}, the default) or cuBLASLt ({@link #OFF}), chosen with
 * {@code -Dglimpse.cuda.skinnyGemm=auto|off}. {@code -Dglimpse.cuda.skinnyGemm.maxRows} (default
 * {@value #DEFAULT_MAX_ROWS}) caps the rows that take it. Both paths round x to the weights' dtype
 * and sum F32, so they differ only in summation order.
 *
 * <p>The properties are read at every launch, so a benchmark can switch paths in one JVM; a
 * captured graph keeps the path it was captured with.
 */
public enum SkinnyGemmMode {

    /** The skinny kernel for rows in (8, maxRows] where the shape allows it (k % 8 == 0, 16-byte aligned weight rows). */
    AUTO("auto"),
    /** cuBLASLt for every prefill shape, as before the skinny kernel. */
    OFF("off");

    /** The system property that picks the mode. */
    public static final String PROPERTY = "glimpse.cuda.skinnyGemm";

    /** The system property that caps the rows taking the skinny kernel. */
    public static final String MAX_ROWS_PROPERTY = "glimpse.cuda.skinnyGemm.maxRows";

    /**
     * The system property that forces the number of k slices (0 or unset: fill one wave of resident
     * blocks, {@link SkinnyGemmPlan}); for tuning runs ({@code SkinnyGemmBench}), not for production.
     */
    public static final String SPLITS_PROPERTY = "glimpse.cuda.skinnyGemm.splits";

    /** Rows up to which {@link #AUTO} takes the skinny kernel when {@link #MAX_ROWS_PROPERTY} is unset. */
    public static final int DEFAULT_MAX_ROWS = SkinnyGemmPlan.MAX_ROWS;

    private final String id;

    SkinnyGemmMode(String id) {
        this.id = id;
    }

    /** The name the property takes, e.g. "auto". */
    public String id() {
        return id;
    }

    /** The mode the property names now, {@link #AUTO} when it is unset or blank. */
    public static SkinnyGemmMode configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The mode called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static SkinnyGemmMode parse(String id) {
        if (id == null || id.isBlank()) {
            return AUTO;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (SkinnyGemmMode mode : values()) {
            if (mode.id.equals(wanted)) {
                return mode;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no skinny GEMM mode; use one of "
                + Arrays.stream(values()).map(SkinnyGemmMode::id).collect(Collectors.joining(", ")));
    }

    /** The row cap {@link #MAX_ROWS_PROPERTY} sets now, {@link #DEFAULT_MAX_ROWS} when unset or blank. */
    public static int configuredMaxRows() {
        return parseMaxRows(System.getProperty(MAX_ROWS_PROPERTY));
    }

    /**
     * The row cap written as {@code value}: an integer from {@value CudaGemm#GEMV_MAX_ROWS} (no rows
     * take the skinny kernel) to {@value SkinnyGemmPlan#MAX_ROWS}; {@link #DEFAULT_MAX_ROWS} for null or blank.
     *
     * @throws CudaException naming the property and the range otherwise
     */
    public static int parseMaxRows(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_MAX_ROWS;
        }
        int rows;
        try {
            rows = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            rows = -1;
        }
        if (rows < CudaGemm.GEMV_MAX_ROWS || rows > SkinnyGemmPlan.MAX_ROWS) {
            throw new CudaException("-D" + MAX_ROWS_PROPERTY + "=" + value + " is not a row count from "
                    + CudaGemm.GEMV_MAX_ROWS + " (skinny kernel never) to " + SkinnyGemmPlan.MAX_ROWS);
        }
        return rows;
    }

    /** The k slices {@link #SPLITS_PROPERTY} forces now, 0 (the plan's choice) when unset or blank. */
    public static int configuredSplits() {
        return parseSplits(System.getProperty(SPLITS_PROPERTY));
    }

    /**
     * The forced k slices written as {@code value}: 0 (the plan's choice) to {@value SkinnyGemmPlan#MAX_SPLITS};
     * 0 for null or blank.
     *
     * @throws CudaException naming the property and the range otherwise
     */
    public static int parseSplits(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        int splits;
        try {
            splits = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            splits = -1;
        }
        if (splits < 0 || splits > SkinnyGemmPlan.MAX_SPLITS) {
            throw new CudaException("-D" + SPLITS_PROPERTY + "=" + value + " is not a number of k slices from 0 (automatic) to "
                    + SkinnyGemmPlan.MAX_SPLITS);
        }
        return splits;
    }

    /** Whether this mode sends a product of {@code rows} rows (more than the GEMV's) to the skinny kernel under {@code maxRows}. */
    boolean takes(int rows, int maxRows) {
        return this == AUTO && rows > CudaGemm.GEMV_MAX_ROWS && rows <= maxRows;
    }
}
