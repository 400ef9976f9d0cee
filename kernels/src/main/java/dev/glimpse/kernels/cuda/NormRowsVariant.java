package dev.glimpse.kernels.cuda;


/**
 * The vectorised LayerNorm / RMSNorm row kernels that {@link CudaBackend#layerNorm},
 * {@link CudaBackend#layerNormTokenMajor} and {@link CudaBackend#rmsNorm} launch, chosen with
 * {@code -Dglimpse.cuda.normRows=auto|v4|staged} (read at every launch; default {@code auto}). Both kernel families
 * take the same launch shape (threads and float4 per thread, {@code CudaPointwise.normV4Threads} and
 * {@code normV4PerThread}) and store the same bits:
 * <ul>
 *   <li>{@code v4}: rows.cu's {@code <norm>_v4_<VPT>}: gamma and beta are loaded after the row's statistics,
 *       each reduction is {@code block_sum} (two barriers).</li>
 *   <li>{@code staged}: norm_rows.cu's {@code <norm>_staged_<VPT>}: gamma and beta copied into shared memory by
 *       cp.async at the start (their global round trip overlaps the row's load and reduction instead of following
 *       them), one barrier per reduction; up to 64 KiB of dynamic shared memory (n values of gamma, and of beta, in
 *       their types: 8 KiB for a BF16 gamma of 4096).</li>
 *   <li>{@code auto}: {@code staged} for RMSNorm over at most {@value #STAGED_RMS_MAX_ROWS} rows, {@code v4} for
 *       everything else.</li>
 * </ul>
 * H200, 2026-11-29, bundle of 0cd2153, {@code NormRowsBench} (us per call, 16 calls per replayed graph; "cold":
 * gamma evicted from L2 before each call, as between a model's GEMMs): RMSNorm 74 x 4096 (a Llama-7B prefill of 64
 * VTC-CLS tokens) 2.53 -> 2.14 hot, 3.16 -> 2.12 cold; 74 x 896 1.89 -> 1.66 hot, 2.20 -> 1.75 cold; 586 x 4096
 * 3.69 -> 3.65 hot, 3.74 -> 3.66 cold. LayerNorm, where staged also copies beta: 577 x 1024 (CLIP-L/336) 2.76 ->
 * 2.87 hot, 2.73 -> 2.65 cold; 729 x 1152 3.32 -> 3.67 hot, 3.59 -> 3.53 cold: mixed, so {@code auto} keeps
 * {@code v4} there. The scalar fallbacks (widths not a multiple of 4 or over 8192, unaligned operands) are the same
 * for all.
 */
public enum NormRowsVariant {

    /** RMSNorm of few rows staged, the rest {@link #V4}. */
    AUTO("auto", null, null),
    /** rows.cu's {@code <norm>_v4_<VPT>}: the statistics first, then gamma and beta. */
    V4("v4", "_v4_", "rows"),
    /** norm_rows.cu's {@code <norm>_staged_<VPT>}: gamma and beta copied into shared memory with the row's load. */
    STAGED("staged", "_staged_", "norm_rows");

    /** The system property that picks the variant. */
    public static final String PROPERTY = "glimpse.cuda.normRows";

    /**
     * The most rows whose RMSNorm {@link #AUTO} stages: measured faster at 74 rows and no slower at 586 (LLaVA-1.5's
     * full-image prompt); 1024 keeps such a prompt with a longer text, larger grids were not measured.
     */
    static final int STAGED_RMS_MAX_ROWS = 1024;

    /** The RMSNorm kernels' base name. */
    static final String RMS_NORM = "rms_norm_rows";

    private final String id;
    private final String infix;
    private final String module;

    NormRowsVariant(String id, String infix, String module) {
        this.id = id;
        this.infix = infix;
        this.module = module;
    }

    /** The name the property takes, e.g. "staged". */
    public String id() {
        return id;
    }

    /**
     * The kernel family for {@code norm} ({@value #RMS_NORM} or {@code layer_norm_rows}) over {@code rows} rows: this
     * one, or for {@link #AUTO} {@link #STAGED} for RMSNorm over at most {@value #STAGED_RMS_MAX_ROWS} rows, else
     * {@link #V4}.
     */
    NormRowsVariant resolve(String norm, int rows) {
        if (this != AUTO) {
            return this;
        }
        return RMS_NORM.equals(norm) && rows <= STAGED_RMS_MAX_ROWS ? STAGED : V4;
    }

    /**
     * The vectorised kernel of {@code norm} with {@code perThread} float4 per thread (1, 2, 4 or 8), e.g.
     * {@code rms_norm_rows_staged_4}.
     *
     * @throws IllegalStateException for {@link #AUTO}, which names no kernel until {@link #resolve} resolves it
     */
    String kernel(String norm, int perThread) {
        return norm + resolved().infix + perThread;
    }

    /**
     * The kernel module (.cu base name) of this family: rows.cu's for {@link #V4}, norm_rows.cu's for {@link #STAGED}.
     *
     * @throws IllegalStateException for {@link #AUTO}, which names no kernel until {@link #resolve} resolves it
     */
    String module() {
        return resolved().module;
    }

    private NormRowsVariant resolved() {
        if (this == AUTO) {
            throw new IllegalStateException(id + " names no kernel of its own; resolve it first");
        }
        return this;
    }

    /** The variant the property names now, {@link #AUTO} when it is unset or blank. */
    public static NormRowsVariant configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The variant called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static NormRowsVariant parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, AUTO, values(), NormRowsVariant::id, "LayerNorm/RMSNorm row kernel variant");
    }
}
