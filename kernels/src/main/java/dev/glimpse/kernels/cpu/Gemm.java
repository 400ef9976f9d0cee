package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Matrix products on the CPU: validation, operand layout, and the choice between the two
 * implementations, {@link VectorGemm} (Vector API) and {@link BlasGemm} (OpenBLAS sgemm).
 *
 * <p>Choice ({@link GemmPath#AUTO}): products with m <= {@link #VECTOR_MAX_ROWS} rows run on the
 * Vector API, larger ones on OpenBLAS (the Vector API when OpenBLAS cannot load). Evidence,
 * {@code KernelBench} on an AMD EPYC (Zen 4, family 25 model 17) KVM guest, 2 cores, AVX-512
 * (512-bit species), OpenBLAS 0.3.31, JDK 25.0.3, 2026-11-28, median of 7 after warm-up, with
 * other builds running (1-min load average 4.2 on 2 cores, so absolute numbers are low bounds):
 * <pre>
 * shape (m x k x n)   weights   Vector API          OpenBLAS
 * 576 x 1024 x 4096   F32       150 GFLOP/s         193 GFLOP/s
 * 576 x 1024 x 4096   BF16      145 GFLOP/s         158 GFLOP/s (widened panels + sgemm)
 * 576 x 1024 x 4096   F16       152 GFLOP/s         167 GFLOP/s (widened panels + sgemm)
 * 1 x 4096 x 4096     F32       31.4 GB/s weights   9.1 GB/s
 * 1 x 4096 x 4096     BF16      36.6 GB/s weights   3.4 GB/s
 * 1 x 4096 x 4096     F16       11.3 GB/s weights   3.5 GB/s
 * </pre>
 * (sequential-read probe in the same run: 27.3 GB/s.) At m = 4..16, BF16, k = n = 4096, the two
 * crossed between m = 8 and m = 16. OpenBLAS has no {@code cblas_sbgemm} in this build, see
 * {@link BlasGemm}.
 *
 * <p>Decode GEMV after the rework of commits 4b5911d..ca47042 (one sequential weight row at a
 * time, BF16/F16 read as int pairs, heap x, caller-run parallel loops), {@code KernelBench} on the
 * same machine, 2026-11-28, load average 1.4-2.7, before (the code of 2004392) and after in
 * back-to-back runs, weights cycled over copies past 512 MiB so every call reads memory, GB/s of
 * weights with the fraction of that run's read probe (29.6-30.8 GB/s), Vector API path:
 * <pre>
 * shape (m x k x n)   weights   before             after
 * 1 x 896 x 4864      BF16      9.3 GB/s (0.30)    20.6 GB/s (0.69)
 * 1 x 4864 x 896      BF16      25.4 GB/s (0.82)   21.5 GB/s (0.73)
 * 1 x 896 x 1152      BF16      7.9 GB/s (0.26)    17.3 GB/s (0.58)
 * 1 x 896 x 151936    BF16      18.4 GB/s (0.60)   21.2 GB/s (0.72)
 * 1 x 4096 x 4096     BF16      27.3 GB/s (0.89)   23.4 GB/s (0.79)
 * 1 x 896 x 4864      F16       5.0 GB/s (0.16)    15.8 GB/s (0.53)
 * 1 x 896 x 151936    F16       6.9 GB/s (0.22)    24.2 GB/s (0.82)
 * 1 x 4096 x 4096     F16       6.1 GB/s (0.20)    17.3 GB/s (0.58)
 * 1 x 896 x 4864      F32       20.7 GB/s (0.67)   33.0 GB/s (1.11)
 * 1 x 896 x 151936    F32       25.8 GB/s (0.84)   34.2 GB/s (1.16)
 * </pre>
 * Repeats on this shared 2-core guest move single numbers by up to 1.5x (a pair minutes earlier,
 * load 1.6-2.9, had 1 x 896 x 4864 BF16 at 16.9 before, 26.4 after). The F16, F32 and k = 896
 * gains held in every run; BF16 at k = 4096 and 4864 is 10-25% slower than before in both pairs
 * (the one-row kernel carries two FMA chains where the old four-row one carried four).
 *
 * <p>Follow-up at 543cbbb (same machine, 2026-11-28, load average 1.9-2.4, alternating runs of a
 * scratch probe shaped like {@code KernelBench}'s linear, cold weights, median GB/s of two runs
 * each): rows of k >= 2048 take a four-block unroll. Before (the kernels of 7cdec6f) / after:
 * <pre>
 * shape (m x k x n)   weights   before             after
 * 1 x 4096 x 4096     BF16      20.4, 16.4 GB/s    23.7, 24.0 GB/s
 * 1 x 4864 x 896      BF16      19.2, 16.9 GB/s    20.1, 20.0 GB/s
 * 1 x 896 x 4864      BF16      25.1, 19.1 GB/s    27.1, 26.2 GB/s
 * </pre>
 * Unrolled at every k it was 10-20% faster in isolation yet cost 10% of DecoderBench decode
 * tokens/s, hence the k threshold. The prefill tiles (and so m = 5..8 on {@link GemmPath#AUTO})
 * read x and weight panels from per-thread arrays since the same commit: in a JVM that had first
 * run every op on heap-backed tensors (polluting the segment-load profiles), 5..8 x 896 x 4864
 * took 2.1-2.8 ms before and 0.60-0.92 ms after (BF16), 1.3-2.1 ms and 0.65-1.0 ms (F32). */
public final class Gemm {

    /** Products with at most this many rows of x run on the Vector API under {@link GemmPath#AUTO}. */
    static final int VECTOR_MAX_ROWS = 8;

    private Gemm() {
    }

    static void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        linear(x, w, bias, out, GemmPath.AUTO);
    }

    /**
     * {@link dev.glimpse.kernels.Backend#linear} with an explicit implementation, for benchmarks
     * and tests. {@link GemmPath#BLAS} falls back to the Vector API when OpenBLAS is unavailable.
     */
    public static void linear(Tensor x, Tensor w, Tensor bias, Tensor out, GemmPath path) {
        requireHost(x, "x");
        requireHost(w, "w");
        requireHost(out, "out");
        requireDType(x, "x", DType.F32, DType.BF16, DType.F16);
        requireDType(out, "out", DType.F32);
        requireDType(w, "w", DType.F32, DType.BF16, DType.F16);
        if (x.dtype() != DType.F32 && x.dtype() != w.dtype()) {
            throw new TensorException("linear: x must be F32 or of w's dtype " + w.dtype() + ", got x " + x + " and w " + w);
        }
        if (w.rank() != 2) {
            throw new TensorException("linear: w must be [out, in], got " + w);
        }
        if (x.rank() < 1 || x.dim(-1) != w.dim(1)) {
            throw new TensorException("linear: x " + x + " does not end in in_features " + w.dim(1) + " of w " + w);
        }
        int n = w.dim(0);
        int[] expected = x.shape();
        expected[expected.length - 1] = n;
        if (!Arrays.equals(out.shape(), expected)) {
            throw new TensorException("linear: out must be " + Arrays.toString(expected) + ", got " + out);
        }
        float[] biasValues = biasValues(bias, n);
        MatrixOperand o = contiguousOutput(out, "linear");
        Tensor xc = x.dtype() == DType.F32 ? x : widened(x);
        Tensor wc = w;
        try {
            MatrixOperand xo = MatrixOperand.viewOf(xc);
            if (xo == null) {
                xc = x.contiguous();
                xo = MatrixOperand.viewOf(xc);
            }
            MatrixOperand wo = MatrixOperand.viewOf(w);
            if (wo == null) {
                wc = w.contiguous();
                wo = MatrixOperand.viewOf(wc);
            }
            multiply(xo, wo, 1f, biasValues, o, path);
        } finally {
            if (xc != x) {
                xc.close();
            }
            if (wc != w) {
                wc.close();
            }
        }
    }

    /**
     * x of F16/BF16 (activations a model kept in the weights' dtype for a GPU's GEMM) widened to a
     * packed F32 copy, exactly; the product then runs as for F32 x.
     */
    private static Tensor widened(Tensor x) {
        Tensor f = Tensor.allocate(DType.F32, x.shape());
        x.copyElementsTo(f);
        return f;
    }

    static void batchedMatmul(Tensor a, Tensor b, boolean transposeB, float alpha, Tensor out) {
        batchedMatmul(a, b, transposeB, alpha, out, GemmPath.AUTO);
    }

    /** {@link dev.glimpse.kernels.Backend#batchedMatmul} with an explicit implementation. */
    public static void batchedMatmul(Tensor a, Tensor b, boolean transposeB, float alpha, Tensor out,
                                     GemmPath path) {
        requireHost(a, "a");
        requireHost(b, "b");
        requireHost(out, "out");
        requireDType(a, "a", DType.F32);
        requireDType(b, "b", DType.F32);
        requireDType(out, "out", DType.F32);
        if (a.rank() != 3 || b.rank() != 3 || out.rank() != 3) {
            throw new TensorException("batchedMatmul needs rank-3 a, b, out; got " + a + ", " + b + ", " + out);
        }
        int batch = a.dim(0);
        int m = a.dim(1);
        int k = a.dim(2);
        int n = transposeB ? b.dim(1) : b.dim(2);
        int bk = transposeB ? b.dim(2) : b.dim(1);
        if (b.dim(0) != batch || bk != k) {
            throw new TensorException("batchedMatmul: a " + a + " and b " + b + " (transposeB=" + transposeB
                    + ") do not chain");
        }
        if (!Arrays.equals(out.shape(), new int[] {batch, m, n})) {
            throw new TensorException("batchedMatmul: out must be [" + batch + ", " + m + ", " + n + "], got " + out);
        }
        contiguousOutput(out, "batchedMatmul");
        float[] zeros = new float[n];
        try (Arena arena = Arena.ofShared()) {
            MemorySegment transposed = null;
            for (int i = 0; i < batch; i++) {
                Tensor ai = a.select(0, i);
                Tensor bi = transposeB ? b.select(0, i) : b.select(0, i).transpose(0, 1);
                MatrixOperand bo = MatrixOperand.viewOf(bi);
                if (bo == null) {
                    if (transposed == null) {
                        transposed = arena.allocate(Math.max(1L, (long) n * k * Float.BYTES), 64);
                    }
                    bo = copyRows(bi, transposed);
                }
                MatrixOperand ao = MatrixOperand.viewOf(ai);
                Tensor ac = ao == null ? ai.contiguous() : ai;
                try {
                    multiply(ao == null ? MatrixOperand.viewOf(ac) : ao, bo, alpha, zeros,
                            MatrixOperand.viewOf(out.select(0, i)), path);
                } finally {
                    if (ac != ai) {
                        ac.close();
                    }
                }
            }
        }
    }

    /** True when the OpenBLAS implementation is loaded. */
    public static boolean blasAvailable() {
        return BlasGemm.available();
    }

    /** The implementation {@link GemmPath#AUTO} picks for an m x k by n x k product. */
    static GemmPath choose(int m, int n, int k, DType weights) {
        if (!BlasGemm.available() || m <= VECTOR_MAX_ROWS) {
            return GemmPath.VECTOR;
        }
        return GemmPath.BLAS;
    }

    static void multiply(MatrixOperand x, MatrixOperand w, float alpha, float[] bias, MatrixOperand out,
                         GemmPath path) {
        GemmPath resolved = path == GemmPath.AUTO ? choose(x.rows(), w.rows(), w.cols(), w.dtype()) : path;
        if (resolved == GemmPath.BLAS && BlasGemm.available() && BlasGemm.accepts(x, w, out)) {
            BlasGemm.multiply(x, w, alpha, bias, out);
        } else {
            VectorGemm.multiply(x, w, alpha, bias, out);
        }
    }

    /** A [rows, cols] F32 view with any strides copied row by row into {@code dst}. */
    private static MatrixOperand copyRows(Tensor src, MemorySegment dst) {
        int rows = src.dim(0);
        int cols = src.dim(1);
        MemorySegment s = src.segment();
        long base = src.offset();
        long rs = src.stride(0);
        long cs = src.stride(1);
        ValueLayout.OfFloat f = ValueLayout.JAVA_FLOAT_UNALIGNED;
        for (int r = 0; r < rows; r++) {
            long d = (long) r * cols;
            long o = base + r * rs;
            for (int c = 0; c < cols; c++) {
                dst.setAtIndex(f, d + c, s.getAtIndex(f, o + c * cs));
            }
        }
        return new MatrixOperand(dst, 0, rows, cols, cols, DType.F32);
    }

    private static float[] biasValues(Tensor bias, int n) {
        if (bias == null) {
            return new float[n];
        }
        requireHost(bias, "bias");
        requireDType(bias, "bias", DType.F32, DType.BF16, DType.F16);
        if (bias.rank() != 1 || bias.dim(0) != n) {
            throw new TensorException("linear: bias must be [" + n + "], got " + bias);
        }
        return bias.toFloatArray();
    }

    private static MatrixOperand contiguousOutput(Tensor out, String op) {
        if (!out.isContiguous()) {
            throw new TensorException(op + ": out must be contiguous, got " + out);
        }
        return MatrixOperand.viewOf(out);
    }

    private static void requireHost(Tensor t, String name) {
        if (!t.device().isHost()) {
            throw new TensorException(name + " is on " + t.device() + "; the CPU backend needs host tensors");
        }
    }

    private static void requireDType(Tensor t, String name, DType... allowed) {
        for (DType d : allowed) {
            if (t.dtype() == d) {
                return;
            }
        }
        throw new TensorException(name + " must be " + Arrays.toString(allowed) + ", got " + t);
    }
}
