package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code out = alpha * x w^T + bias} through OpenBLAS {@code cblas_sgemm} (bytedeco JavaCPP
 * preset, BLAS without LAPACK). Operands are passed by address, no copies: x row-major with its
 * row stride as lda, w row-major [n, k] as op(B) = B^T with its row stride as ldb.
 *
 * <p>The bundled OpenBLAS 0.3.31 is built without {@code BUILD_BFLOAT16}: the library exports no
 * {@code cblas_sbgemm} and the preset maps none. BF16/F16 weights are therefore widened to F32
 * in panels of {@link #PANEL_ROWS} rows (in parallel, into scratch) and each panel is one
 * {@code cblas_sgemm} call writing its block of output columns.
 *
 * <p>OpenBLAS runs its own threads; their count is set once to {@link CpuParallel#threads()}.
 * When the native library cannot be loaded this class reports {@link #available()} false and
 * logs one warning; callers then use {@link VectorGemm}.
 */
final class BlasGemm {

    private static final Logger LOG = LoggerFactory.getLogger(BlasGemm.class);
    private static final int ROW_MAJOR = 101;
    private static final int NO_TRANS = 111;
    private static final int TRANS = 112;
    /** Weight rows widened to F32 per sgemm call when weights are BF16/F16. */
    static final int PANEL_ROWS = 512;
    private static final boolean AVAILABLE = load();

    private BlasGemm() {
    }

    /** True when OpenBLAS is loaded and usable. */
    static boolean available() {
        return AVAILABLE;
    }

    /**
     * Same contract as {@link VectorGemm#multiply}; all segments must be native (off-heap or
     * mapped). Rows and strides must fit an int, as CBLAS takes ints.
     */
    static void multiply(MatrixOperand x, MatrixOperand w, float alpha, float[] bias, MatrixOperand out) {
        int m = x.rows();
        int n = w.rows();
        int k = w.cols();
        if (m == 0 || n == 0) {
            return;
        }
        MemorySegment os = out.segment();
        for (int i = 0; i < m; i++) {
            MemorySegment.copy(bias, 0, os, ValueLayout.JAVA_FLOAT_UNALIGNED, out.rowOffset(i), n);
        }
        if (k == 0) {
            return;
        }
        FloatPointer xp = pointer(x.segment(), x.byteOffset());
        if (w.dtype() == DType.F32) {
            openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, m, n, k, alpha,
                    xp, ld(x.rowStride()), pointer(w.segment(), w.byteOffset()), ld(w.rowStride()),
                    1f, pointer(os, out.byteOffset()), ld(out.rowStride()));
            return;
        }
        long panelBytes = (long) Math.min(PANEL_ROWS, n) * k * Float.BYTES;
        MemorySegment panel = ThreadScratch.get(panelBytes);
        FloatPointer pp = pointer(panel, 0);
        for (int j0 = 0; j0 < n; j0 += PANEL_ROWS) {
            int rows = Math.min(PANEL_ROWS, n - j0);
            int first = j0;
            CpuParallel.forRange(rows, 16, (r0, r1) -> {
                for (int r = r0; r < r1; r++) {
                    HalfPrecisionVectors.convertRow(w.dtype(), w.segment(), w.rowOffset(first + r), panel,
                            (long) r * k * Float.BYTES, k);
                }
            });
            openblas_nolapack.cblas_sgemm(ROW_MAJOR, NO_TRANS, TRANS, m, rows, k, alpha,
                    xp, ld(x.rowStride()), pp, k,
                    1f, pointer(os, out.byteOffset() + 4L * j0), ld(out.rowStride()));
        }
    }

    /** True when BLAS can take these operands: native memory and int-sized leading dimensions. */
    static boolean accepts(MatrixOperand x, MatrixOperand w, MatrixOperand out) {
        return x.segment().isNative() && w.segment().isNative() && out.segment().isNative()
                && fitsInt(x.rowStride()) && fitsInt(w.rowStride()) && fitsInt(out.rowStride())
                && x.rowStride() >= Math.max(1, x.cols()) && w.rowStride() >= Math.max(1, w.cols());
    }

    private static boolean fitsInt(long v) {
        return v >= 0 && v <= Integer.MAX_VALUE;
    }

    private static int ld(long rowStride) {
        return (int) Math.max(1, rowStride);
    }

    private static FloatPointer pointer(MemorySegment segment, long byteOffset) {
        return new FloatPointer(new Address(segment.address() + byteOffset));
    }

    private static boolean load() {
        try {
            Loader.load(openblas_nolapack.class);
            openblas_nolapack.blas_set_num_threads(CpuParallel.threads());
            LOG.debug("OpenBLAS {} loaded, {} threads", openblas_nolapack.OPENBLAS_VERSION, CpuParallel.threads());
            return true;
        } catch (Throwable e) {
            LOG.warn("OpenBLAS could not be loaded ({}); GEMM uses the Vector API kernels only", e.toString());
            return false;
        }
    }

    /** A JavaCPP pointer to a raw address owned by a {@link MemorySegment}; frees nothing. */
    private static final class Address extends Pointer {
        Address(long address) {
            this.address = address;
        }
    }
}
