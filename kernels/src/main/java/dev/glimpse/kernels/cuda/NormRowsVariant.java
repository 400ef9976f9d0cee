package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;

/**
 * The vectorised LayerNorm / RMSNorm row kernels (rows.cu's, or their variants in norm_rows.cu) that
 * {@link CudaBackend#layerNorm},
 * {@link CudaBackend#layerNormTokenMajor} and {@link CudaBackend#rmsNorm} launch, chosen with
 * {@code -Dglimpse.cuda.normRows=v4|prefetch|auto|staged} (read at every launch; default {@code v4}). All take the
 * same launch shape (threads and float4 per thread, {@code CudaPointwise.normV4Threads} and
 * {@code normV4PerThread}) and store the same bits; they differ only in what a block waits on:
 * <ul>
 *   <li>{@code v4}: {@code <norm>_v4_<VPT>}, the kernels before this choice existed: gamma and beta are
 *       loaded after the row's statistics, each reduction is {@code block_sum} (two barriers).</li>
 *   <li>{@code prefetch}: {@code <norm>_prefetch_<VPT>}: gamma and beta are loaded with the row, before the
 *       reduction (their global round trip leaves the critical path), and each reduction takes one barrier
 *       and log2(warps) cross-warp shuffle steps. Meant for the latency-bound few-row launches (74-row
 *       Llama-7B prefills, the 577 rows of a CLIP-L/336 image), where a block holds a few KB. Holding gamma
 *       (and beta) in registers costs registers: fewer blocks fit on a multiprocessor (rms_norm_rows at 4
 *       float4 per thread: 54 registers, 4 blocks of 256, against v4's 40 and 6), so a grid of more rows than
 *       fit at once (586 x 4096 on an H200's 132 SMs) takes a second wave that v4 does not.</li>
 *   <li>{@code auto}: {@code prefetch} where its grid takes no more waves of resident blocks than v4's (the
 *       driver's occupancy of both kernels at the launch's threads), else {@code v4}.</li>
 *   <li>{@code staged}: {@code <norm>_staged_<VPT>}: prefetch's reductions with gamma and beta copied into shared
 *       memory by cp.async at the start (each thread its own chunks, no barrier) instead of into registers: the
 *       copy overlaps the row's load and reduction as in prefetch while a block keeps about v4's registers
 *       (rms_norm_rows_staged_4: 38), at the cost of up to 64 KiB of dynamic shared memory (n values of gamma,
 *       and of beta, in their types: 8 KiB for a BF16 gamma of 4096).</li>
 * </ul>
 * The scalar fallbacks (widths not a multiple of 4 or over 8192, unaligned operands) are the same for all.
 * {@code NormRowsBench} times each against {@code v4}.
 */
public enum NormRowsVariant {

    /** {@code <norm>_v4_<VPT>}: the statistics first, then gamma and beta. */
    V4("v4", "_v4_", "rows"),
    /** {@code <norm>_prefetch_<VPT>}: gamma and beta loaded with the row, single-barrier reductions. */
    PREFETCH("prefetch", "_prefetch_", "norm_rows"),
    /** {@link #PREFETCH} where it takes no more waves of blocks than {@link #V4}, else {@link #V4}. */
    AUTO("auto", null, null),
    /** {@code <norm>_staged_<VPT>}: gamma and beta copied into shared memory with the row's load (cp.async). */
    STAGED("staged", "_staged_", "norm_rows");

    /** The system property that picks the variant. */
    public static final String PROPERTY = "glimpse.cuda.normRows";

    private final String id;
    private final String infix;
    private final String module;

    NormRowsVariant(String id, String infix, String module) {
        this.id = id;
        this.infix = infix;
        this.module = module;
    }

    /** The name the property takes, e.g. "prefetch". */
    public String id() {
        return id;
    }

    /**
     * The kernels' variant for a grid of {@code rows} blocks on {@code multiprocessors} SMs: this one, or for
     * {@link #AUTO} {@link #PREFETCH} when its waves ({@code rows} over {@code residentBlocks} of a kernel times
     * the SMs, rounded up) are at most {@link #V4}'s, else {@link #V4}.
     */
    NormRowsVariant forGrid(int rows, int multiprocessors, ToIntFunction<NormRowsVariant> residentBlocks) {
        if (this != AUTO) {
            return this;
        }
        long prefetchWaves = waves(rows, multiprocessors, residentBlocks.applyAsInt(PREFETCH));
        return prefetchWaves <= waves(rows, multiprocessors, residentBlocks.applyAsInt(V4)) ? PREFETCH : V4;
    }

    private static long waves(int rows, int multiprocessors, int residentBlocks) {
        long slots = (long) Math.max(1, residentBlocks) * multiprocessors;
        return (rows + slots - 1) / slots;
    }

    /**
     * The vectorised kernel of {@code norm} ({@code "layer_norm_rows"} or {@code "rms_norm_rows"}) with
     * {@code perThread} float4 per thread (1, 2, 4 or 8), e.g. {@code rms_norm_rows_prefetch_4}.
     *
     * @throws IllegalStateException for {@link #AUTO}, which names no kernel until {@link #forGrid} resolves it
     */
    String kernel(String norm, int perThread) {
        if (infix == null) {
            throw new IllegalStateException(id + " names no kernel of its own; resolve it with forGrid first");
        }
        return norm + infix + perThread;
    }

    /**
     * The kernel module (.cu base name) of this variant's kernels: rows.cu's for {@link #V4}, norm_rows.cu's for
     * the others.
     *
     * @throws IllegalStateException for {@link #AUTO}, which names no kernel until {@link #forGrid} resolves it
     */
    String module() {
        if (module == null) {
            throw new IllegalStateException(id + " names no kernel of its own; resolve it with forGrid first");
        }
        return module;
    }

    /** The variant the property names now, {@link #V4} when it is unset or blank. */
    public static NormRowsVariant configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The variant called {@code id} (case-insensitive); {@link #V4} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static NormRowsVariant parse(String id) {
        if (id == null || id.isBlank()) {
            return V4;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (NormRowsVariant v : values()) {
            if (v.id.equals(wanted)) {
                return v;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no LayerNorm/RMSNorm row kernel variant;"
                + " known: " + Arrays.stream(values()).map(NormRowsVariant::id).collect(Collectors.joining(", ")));
    }
}
