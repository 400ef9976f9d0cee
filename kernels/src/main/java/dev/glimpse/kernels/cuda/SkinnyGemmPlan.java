package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;

/**
 * The launch of one skinny GEMM ({@code gemm_skinny.cu}): which build serves the rows, how many
 * blocks of {@value #FEATURES_PER_BLOCK} features, and how k is split over blocks.
 *
 * <p>The product at 9..128 rows is bound by streaming the weights once, so the grid should fill
 * every resident block slot of the GPU once ({@code slots}: resident blocks per multiprocessor times
 * multiprocessors) and no more: a second, partial wave would leave most of the GPU idle while it
 * runs. k is therefore split into {@code slots / featureBlocks} slices (at least one chunk of
 * {@value #CHUNK_K} k each, at most {@value #MAX_SPLITS}), each a whole number of chunks, so that
 * only the last slice may end inside a chunk. With more than one slice the blocks write F32
 * partial sums that {@code gemm_skinny_reduce} adds in slice order.
 *
 * @param rowTiles      n-tiles of 8 rows of x the build serves (2..16: rows up to 8 rowTiles)
 * @param featureBlocks blocks along the output features (grid x)
 * @param splits        slices of k (grid y), every one non-empty
 * @param stepsPerSplit k steps of {@value #STEP_K} per slice, a multiple of {@value #CHUNK_STEPS}
 */
record SkinnyGemmPlan(int rowTiles, int featureBlocks, int splits, int stepsPerSplit) {

    /** Most rows of x the kernels serve. */
    static final int MAX_ROWS = 128;

    /** Threads per block (SKINNY_THREADS in gemm_skinny.cu): 8 warps of 16 features each. */
    static final int THREADS = 256;

    /** Output features per block. */
    static final int FEATURES_PER_BLOCK = 128;

    /** k per mma step: two m16n8k16 products per lane's 16 contiguous bytes of 4 lanes. */
    static final int STEP_K = 32;

    /** Steps per staged chunk of x (SKINNY_CHUNK_STEPS in gemm_skinny.cu). */
    static final int CHUNK_STEPS = 4;

    /** k per staged chunk. */
    static final int CHUNK_K = STEP_K * CHUNK_STEPS;

    /** Most slices of k (bounds the partial-sum workspace at MAX_SPLITS x rows x n floats). */
    static final int MAX_SPLITS = 32;

    SkinnyGemmPlan {
        if (rowTiles < 2 || rowTiles > MAX_ROWS / 8 || featureBlocks < 1 || splits < 1 || stepsPerSplit < 1) {
            throw new IllegalArgumentException("invalid skinny GEMM plan " + rowTiles + "/" + featureBlocks + "/" + splits
                    + "/" + stepsPerSplit);
        }
    }

    /**
     * The plan for rows x [n, k] with {@code slots} resident blocks on the GPU.
     *
     * @throws CudaException when rows is outside 9..{@value #MAX_ROWS} or k is not a positive multiple of 8
     */
    static SkinnyGemmPlan of(int rows, int n, int k, long slots) {
        return of(rows, n, k, slots, 0);
    }

    /**
     * The plan for rows x [n, k]; {@code wantedSplits} > 0 asks for that many slices of k instead of
     * filling {@code slots} (for tuning runs: {@link SkinnyGemmMode#SPLITS_PROPERTY}), still at least a
     * chunk each and at most {@value #MAX_SPLITS}.
     *
     * @throws CudaException when rows is outside 9..{@value #MAX_ROWS} or k is not a positive multiple of 8
     */
    static SkinnyGemmPlan of(int rows, int n, int k, long slots, int wantedSplits) {
        if (rows <= CudaGemm.GEMV_MAX_ROWS || rows > MAX_ROWS) {
            throw new CudaException("skinny GEMM serves " + (CudaGemm.GEMV_MAX_ROWS + 1) + ".." + MAX_ROWS + " rows, got " + rows);
        }
        if (k <= 0 || k % 8 != 0 || n <= 0) {
            throw new CudaException("skinny GEMM needs n > 0 and k a positive multiple of 8, got n=" + n + " k=" + k);
        }
        int rowTiles = Math.max(2, (rows + 7) / 8);
        int featureBlocks = (n + FEATURES_PER_BLOCK - 1) / FEATURES_PER_BLOCK;
        int steps = (k + STEP_K - 1) / STEP_K;
        int chunks = (steps + CHUNK_STEPS - 1) / CHUNK_STEPS;
        long wanted = wantedSplits > 0 ? wantedSplits : Math.max(1, slots / featureBlocks);
        int splits = (int) Math.min(Math.min(wanted, chunks), MAX_SPLITS);
        int chunksPerSplit = (chunks + splits - 1) / splits;
        int stepsPerSplit = chunksPerSplit * CHUNK_STEPS;
        splits = (steps + stepsPerSplit - 1) / stepsPerSplit;
        return new SkinnyGemmPlan(rowTiles, featureBlocks, splits, stepsPerSplit);
    }

    /** Rows of x the build serves (zero-padded past the caller's rows). */
    int paddedRows() {
        return rowTiles * 8;
    }

    /** The kernel's name, e.g. {@code gemm_skinny_bf16_r80}. */
    String kernel(DType weights) {
        return "gemm_skinny_" + switch (weights) {
            case BF16 -> "bf16";
            case F16 -> "f16";
            default -> throw new CudaException("skinny GEMM takes BF16 or F16 weights, got " + weights);
        } + "_r" + paddedRows();
    }

    /** Dynamic shared memory of a block: two buffers of a chunk of x, [steps][padded rows][32 k] 16-bit. */
    int sharedBytes() {
        return 2 * CHUNK_STEPS * paddedRows() * STEP_K * 2;
    }
}
