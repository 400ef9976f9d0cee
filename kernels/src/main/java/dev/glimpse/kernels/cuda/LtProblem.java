package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;

/**
 * One cuBLASLt linear problem as {@link CudaLtMatmul} plans it: out [m, n] = x [m, k] W^T (+ bias)
 * (+ residual), for {@code batch} weights stacked {@code strideW} elements apart that share x (the
 * fused q/k/v or gate/up projections: out[i] = x W[i]^T + bias[i], outputs {@code strideOut}
 * elements apart, biases {@code strideBias} apart), plus the operand alignments cuBLASLt may assume.
 * Equal problems share a plan and its measured algorithm, so everything that changes which
 * algorithms are valid or fast is a component. Strides are 0 for a single product.
 *
 * @param ldw        elements between W's rows
 * @param bias       whether the epilogue adds a per-feature F32 bias
 * @param accumulate whether D = C + product (beta 1, C the residual) rather than the product alone
 * @param output     D's dtype, the bias dtype and whether the epilogue applies GELU ({@link Output#F32}: plain)
 */
record LtProblem(int m, int n, int k, DType dtype, long ldw, int batch, long strideW, long strideOut, long strideBias,
                 boolean bias, boolean accumulate, int alignW, int alignX, int alignOut,
                 Output output) {

    /** Largest alignment cuBLASLt asks about (its default minimum for every operand). */
    static final int MAX_ALIGNMENT = 256;

    /**
     * Largest operand alignment a measured choice's key tells apart ({@link #bucketed}): TMA, which
     * Hopper's kernels load through, needs 16 bytes, and a choice adopted for another problem is
     * checked against that problem's own alignments first ({@code LtPlan#adopt}), so finer keys
     * would only measure again. A decoder session's stacked outputs start a capacity-sized stride
     * apart, whose alignment (128 or 256 bytes) otherwise changed the key with the session.
     */
    static final int KEY_ALIGNMENT = 16;

    /** Rows (tokens) up to which a product is skinny: weight streaming bound, where split-K may pay. */
    static final int SKINNY_ROWS = 128;

    /** Depth from which a skinny product is offered split-K variants of the heuristic's algorithms. */
    static final int SPLIT_K_MIN_DEPTH = 2048;

    LtProblem {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1, got " + batch);
        }
        if (batch == 1 && (strideW != 0 || strideOut != 0 || strideBias != 0)) {
            throw new IllegalArgumentException("a single product has no batch strides: " + strideW + ", " + strideOut
                    + ", " + strideBias);
        }
    }

    /**
     * What the epilogue writes: gelu_tanh of the sum or the sum itself, D (and C) of {@code type}
     * (F32, or F16/BF16 for a product whose output only feeds another product), the bias of
     * {@code biasType}. Accumulating products write F32.
     */
    record Output(boolean gelu, DType type, DType biasType) {

        /** The plain F32 output with an F32 bias. */
        static final Output F32 = new Output(false, DType.F32, DType.F32);
    }

    /** A plain F32 problem ({@link Output#F32}) over the given device addresses. */
    static LtProblem of(int m, int n, int k, DType dtype, long ldw, int batch, long strideW, long strideOut,
                        long strideBias, boolean bias, boolean accumulate, long w, long x, long out, long residual) {
        return of(m, n, k, dtype, ldw, batch, strideW, strideOut, strideBias, bias, accumulate, w, x, out, residual,
                Output.F32);
    }

    /** A problem over the given device addresses (alignments taken from them; the residual shares out's layout). */
    static LtProblem of(int m, int n, int k, DType dtype, long ldw, int batch, long strideW, long strideOut,
                        long strideBias, boolean bias, boolean accumulate, long w, long x, long out, long residual,
                        Output output) {
        int alignOut = accumulate ? Math.min(alignment(out), alignment(residual)) : alignment(out);
        if (batch > 1) {
            alignOut = Math.min(alignOut, alignment(strideOut * output.type().byteSize()));
        }
        int alignW = batch > 1 ? Math.min(alignment(w), alignment(strideW * dtype.byteSize())) : alignment(w);
        return new LtProblem(m, n, k, dtype, ldw, batch, strideW, strideOut, strideBias, bias, accumulate, alignW,
                alignment(x), alignOut, output);
    }

    /** Largest power of two (at most 256) dividing {@code address}: the alignment cuBLASLt may assume. */
    static int alignment(long address) {
        long low = Long.lowestOneBit(address);
        return low == 0 || low > MAX_ALIGNMENT ? MAX_ALIGNMENT : (int) low;
    }

    /**
     * Whether an algorithm needing these byte alignments of A (W), B (x), C and D (out)
     * ({@code CUBLASLT_ALGO_CAP_MIN_ALIGNMENT_*_BYTES}) may run on this problem's operands. The
     * heuristic applies the same bound through {@code CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_*_BYTES};
     * {@code cublasLtMatmulAlgoCheck} sees no pointers, and a kernel run on operands less aligned
     * than it needs faults with a misaligned address, which ends the CUDA context. A negative
     * requirement (the capability could not be read) fits nothing.
     */
    boolean fitsAlignments(int a, int b, int c, int d) {
        return a >= 0 && b >= 0 && c >= 0 && d >= 0 && a <= alignW && b <= alignX && c <= alignOut && d <= alignOut;
    }

    /**
     * True when the heuristic's algorithms should also be tried with their k split 2, 4 and 8 ways:
     * few rows over a deep k, where one tile per output block leaves most multiprocessors idle.
     */
    boolean offersSplitK() {
        return m <= SKINNY_ROWS && k >= SPLIT_K_MIN_DEPTH;
    }

    /**
     * This problem with m rounded up to its row bucket ({@link #rowBucket}) and a batch's outputs
     * {@link #packedStrideOut packed} for the bucket's rows: the key under which a measured
     * algorithm serves every row count of the bucket, so prompts of new lengths reuse a measurement
     * instead of timing again. The outputs' batch stride is not the caller's because it follows
     * the buffer rather than the product: a decoder session's stacked q/k/v and gate/up outputs
     * are views of scratch sized for the session's capacity (prompt plus generated tokens), so
     * with it every new capacity was a new key and measured again (LLaVA-1.5-7B: each request of a
     * new prompt length or token limit timed its q/k/v and gate/up candidates inside its time to
     * first token). Alignments enter the key up to {@link #KEY_ALIGNMENT} bytes; a choice adopted
     * for an exact problem is checked against its alignments and by {@code cublasLtMatmulAlgoCheck}
     * before it runs there.
     */
    LtProblem bucketed() {
        int rows = rowBucket(m);
        return new LtProblem(rows, n, k, dtype, ldw, batch, strideW, packedStrideOut(rows), strideBias, bias,
                accumulate, Math.min(alignW, KEY_ALIGNMENT), Math.min(alignX, KEY_ALIGNMENT),
                Math.min(alignOut, KEY_ALIGNMENT), output);
    }

    /** Elements between a batch's outputs of {@code rows} rows packed one after another (0 for a single product). */
    private long packedStrideOut(int rows) {
        return batch > 1 ? (long) rows * n : 0;
    }

    /** The power of two at or above {@code m} (rows 65..128 share 128, 513..1024 share 1024). */
    static int rowBucket(int m) {
        return m <= 1 ? 1 : Integer.highestOneBit(m - 1) << 1;
    }

    /**
     * Every component in a fixed textual form, the key under which {@link LtChoiceStore} keeps this
     * (bucketed) problem's measured algorithm across processes, e.g.
     * {@code 128x4096x4096 BF16 ldw 4096 batch 3 strides 16777216/524288/0 bias acc out F32 bias F32 align 256/256/256}.
     */
    String cacheKey() {
        return m + "x" + n + "x" + k + " " + dtype + " ldw " + ldw + " batch " + batch + " strides " + strideW + "/"
                + strideOut + "/" + strideBias + (bias ? " bias" : "") + (accumulate ? " acc" : "")
                + (output.gelu() ? " gelu" : "") + " out " + output.type() + " bias " + output.biasType()
                + " align " + alignW + "/" + alignX + "/" + alignOut;
    }

    /** Bytes the product must stream at least: the weights, x, and the output (read too when accumulating). */
    long minimumBytes() {
        long weights = (long) batch * n * k * dtype.byteSize();
        long out = (long) batch * m * n * output.type().byteSize() * (accumulate ? 2 : 1);
        return weights + (long) m * k * dtype.byteSize() + out;
    }

    @Override
    public String toString() {
        return m + "x" + n + "x" + k + " " + dtype + (batch > 1 ? " x" + batch : "") + (bias ? " +bias" : "")
 + (accumulate ? " +C" : "")
                + (output.gelu() ? " gelu" : "") + (output.type() != DType.F32 ? " -> " + output.type() : "") + " ldw " + ldw + " align " + alignW + "/" + alignX + "/" + alignOut;
    }
}
