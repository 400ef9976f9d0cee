package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * {@code out = alpha * x w^T + bias} with the Vector API: x [m, k] F32, w [n, k] F32/BF16/F16
 * (both k-contiguous, HF {@code nn.Linear} layout), accumulation in F32.
 *
 * <p>Two shapes of work:
 * <ul>
 *   <li>Decode (m &lt;= {@link #STREAMING_MAX_ROWS}): the weights are streamed once, one row at a
 *       time in order (one sequential stream per thread), widened to F32 in registers and dotted
 *       with every x row while the row is in L1. BF16/F16 rows are read as int pairs against x
 *       split once per call into even and odd elements, so a pair widens with one shift or one
 *       mask (BF16). Parallel over weight rows, about {@link #STREAM_GRAIN_BYTES} per chunk.
 *       Memory-bound by design.</li>
 *   <li>Prefill (larger m): weights are taken in panels of a few dozen rows (sized to stay in
 *       L2), converted to F32 once per panel into a per-thread float array (F32 weights are
 *       copied, so the tiles load only from arrays, as x is copied once per call), and swept by a 4x4 register tile: 4 x rows by 4 weight rows, 16 vector accumulators,
 *       8 loads per 16 FMAs. Parallel over panels, so each thread streams distinct weights.</li>
 * </ul>
 * Tiles reduce their accumulators horizontally once per tile, inside the tile method (vectors
 * passed to a non-inlined helper are boxed by C2: that cost 15x); k tails run scalar.
 * F16 widening is integer arithmetic (no half-float conversion in the JDK 25 Vector API), about
 * nine vector ops per 16 values, so F16 decode is compute-bound where BF16 is memory-bound;
 * measured numbers are in {@link Gemm}.
 */
final class VectorGemm {

    /** Row counts up to this take the weight-streaming path. */
    static final int STREAMING_MAX_ROWS = 4;

    private static final VectorSpecies<Float> F = HalfPrecisionVectors.F;
    private static final VectorSpecies<Integer> I = HalfPrecisionVectors.I;
    /** Elements of one paired block: one int vector of BF16/F16 pairs, two float vectors of x. */
    private static final int PAIR_BLOCK = 2 * HalfPrecisionVectors.I.length();
    private static final int HIGH_HALF = 0xFFFF0000;
    /**
     * Rows at least this long take the unrolled BF16 kernel. At k = 4096 and 4864 it measured
     * 10-20% faster than one block per iteration in isolation; in DecoderBench (Qwen2-0.5B shape,
     * k = 896 everywhere but down_proj) using it for every k cost 10% of decode tokens/s.
     */
    private static final int UNROLL_MIN_K = 2048;
    /**
     * Weight bytes per parallel chunk of the decode path, at least. Smaller matrices run on the
     * calling thread: a pool dispatch costs 20-40 us on the 2-core reference machine, longer than
     * streaming 256 KiB on one core.
     */
    private static final long STREAM_GRAIN_BYTES = 256 * 1024;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    /** Target bytes of one converted weight panel: a good part of a 1-2 MiB L2. */
    private static final long PANEL_BYTES = 256 * 1024;

    private VectorGemm() {
    }

    /**
     * out[i, j] = alpha * sum_k x[i, k] w[j, k] + bias[j]. x and out F32; out's rows hold n
     * columns; bias has n entries (zeros for none).
     */
    static void multiply(MatrixOperand x, MatrixOperand w, float alpha, float[] bias, MatrixOperand out) {
        if (x.rows() == 0 || w.rows() == 0) {
            return;
        }
        if (x.rows() <= STREAMING_MAX_ROWS) {
            streaming(x, w, alpha, bias, out);
        } else {
            panelled(x, w, alpha, bias, out);
        }
    }

    // ---------------------------------------------------------------- decode: stream the weights

    /**
     * One weight row at a time, each dotted with every x row while it is in L1. A single
     * sequential stream per thread: reading four rows side by side (four interleaved streams a row
     * length apart) measured 30-45% slower at k = 896 with cold weights, as the hardware prefetcher
     * follows one stream better than four short ones.
     *
     * <p>x is read from a heap copy and weights only through {@link IntVector} loads (F32 weights
     * reinterpreted): C2 intrinsifies a segment load only when the segment class it profiled at
     * that load is exact, and that profile is shared by every caller of
     * {@code FloatVector.fromMemorySegment}, which other ops feed heap segments. In a decoder the
     * polluted float loads ran out of line, boxing every vector (GEMV 3-5x slower).
     */
    private static void streaming(MatrixOperand x, MatrixOperand w, float alpha, float[] bias, MatrixOperand out) {
        int n = w.rows();
        int k = w.cols();
        int m = x.rows();
        DType dtype = w.dtype();
        int blocks = dtype == DType.F32 ? 0 : k / PAIR_BLOCK;
        int head = dtype == DType.F32 ? I.loopBound(k) : blocks * PAIR_BLOCK;
        float[] xs = ThreadScratch.floats(Math.max(1, m * head));
        for (int i = 0; i < m; i++) {
            if (dtype == DType.F32) {
                MemorySegment.copy(x.segment(), FLOAT, x.rowOffset(i), xs, i * head, head);
            } else {
                splitEvenOdd(x.segment(), x.rowOffset(i), xs, i * head, blocks);
            }
        }
        int grain = (int) Math.max(1, STREAM_GRAIN_BYTES / ((long) dtype.byteSize() * Math.max(1, k)));
        CpuParallel.forRange(n, grain, (j0, j1) -> {
            MemorySegment ws = w.segment();
            MemorySegment os = out.segment();
            for (int j = j0; j < j1; j++) {
                long wo = w.rowOffset(j);
                for (int i = 0; i < m; i++) {
                    float s = switch (dtype) {
                        case BF16 -> k >= UNROLL_MIN_K ? bf16RowUnrolled(xs, i * head, ws, wo, blocks)
                                : bf16Row(xs, i * head, ws, wo, blocks);
                        case F16 -> f16Row(xs, i * head, ws, wo, blocks);
                        default -> f32Row(xs, i * head, ws, wo, head);
                    };
                    if (head < k) {
                        s += tailAny(x, i, w, j, head);
                    }
                    os.set(FLOAT, out.rowOffset(i) + 4L * j, alpha * s + bias[j]);
                }
            }
        });
    }

    /** Writes {@code blocks} blocks of x: per block, its even elements, then its odd ones. */
    private static void splitEvenOdd(MemorySegment src, long srcOffset, float[] dst, int dstOffset, int blocks) {
        int half = PAIR_BLOCK / 2;
        for (int b = 0; b < blocks; b++) {
            long s = srcOffset + 4L * b * PAIR_BLOCK;
            int d = dstOffset + b * PAIR_BLOCK;
            for (int l = 0; l < half; l++) {
                dst[d + l] = src.get(FLOAT, s + 8L * l);
                dst[d + half + l] = src.get(FLOAT, s + 8L * l + 4);
            }
        }
    }

    /** Sum over the paired head of one BF16 row at w0 times the split x row at xo. */
    private static float bf16Row(float[] xs, int xo, MemorySegment ws, long w0, int blocks) {
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        int lanes = I.length();
        long step = I.vectorByteSize();
        long wb = w0;
        for (int b = 0, xb = xo; b < blocks; b++, xb += 2 * lanes, wb += step) {
            IntVector p0 = IntVector.fromMemorySegment(I, ws, wb, LE);
            e0 = FloatVector.fromArray(F, xs, xb).fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
            o0 = FloatVector.fromArray(F, xs, xb + lanes).fma(p0.and(HIGH_HALF).reinterpretAsFloats(), o0);
        }
        return Lanes.sum(e0.add(o0));
    }

    /**
     * {@link #bf16Row} for long rows ({@link #UNROLL_MIN_K} and up): four blocks per iteration into
     * four accumulators.
     */
    private static float bf16RowUnrolled(float[] xs, int xo, MemorySegment ws, long w0, int blocks) {
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        FloatVector e1 = FloatVector.zero(F);
        FloatVector o1 = FloatVector.zero(F);
        int lanes = I.length();
        long step = I.vectorByteSize();
        long wb = w0;
        int b = 0;
        int xb = xo;
        for (; b + 4 <= blocks; b += 4, xb += 8 * lanes, wb += 4 * step) {
            IntVector p0 = IntVector.fromMemorySegment(I, ws, wb, LE);
            IntVector p1 = IntVector.fromMemorySegment(I, ws, wb + step, LE);
            IntVector p2 = IntVector.fromMemorySegment(I, ws, wb + 2 * step, LE);
            IntVector p3 = IntVector.fromMemorySegment(I, ws, wb + 3 * step, LE);
            e0 = FloatVector.fromArray(F, xs, xb).fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
            o0 = FloatVector.fromArray(F, xs, xb + lanes).fma(p0.and(HIGH_HALF).reinterpretAsFloats(), o0);
            e1 = FloatVector.fromArray(F, xs, xb + 2 * lanes).fma(p1.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e1);
            o1 = FloatVector.fromArray(F, xs, xb + 3 * lanes).fma(p1.and(HIGH_HALF).reinterpretAsFloats(), o1);
            e0 = FloatVector.fromArray(F, xs, xb + 4 * lanes).fma(p2.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
            o0 = FloatVector.fromArray(F, xs, xb + 5 * lanes).fma(p2.and(HIGH_HALF).reinterpretAsFloats(), o0);
            e1 = FloatVector.fromArray(F, xs, xb + 6 * lanes).fma(p3.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e1);
            o1 = FloatVector.fromArray(F, xs, xb + 7 * lanes).fma(p3.and(HIGH_HALF).reinterpretAsFloats(), o1);
        }
        for (; b < blocks; b++, xb += 2 * lanes, wb += step) {
            IntVector p0 = IntVector.fromMemorySegment(I, ws, wb, LE);
            e0 = FloatVector.fromArray(F, xs, xb).fma(p0.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats(), e0);
            o0 = FloatVector.fromArray(F, xs, xb + lanes).fma(p0.and(HIGH_HALF).reinterpretAsFloats(), o0);
        }
        return Lanes.sum(e0.add(o0).add(e1.add(o1)));
    }

    /**
     * Sum over the paired head of one F16 row at w0 times the split x row at xo. Kernels over
     * several rows would exceed C2's inlining node budget here: a widening left out of line boxes
     * its vectors (four rows measured 3x slower).
     */
    private static float f16Row(float[] xs, int xo, MemorySegment ws, long w0, int blocks) {
        FloatVector e0 = FloatVector.zero(F);
        FloatVector o0 = FloatVector.zero(F);
        int lanes = I.length();
        long step = I.vectorByteSize();
        long wb = w0;
        for (int b = 0, xb = xo; b < blocks; b++, xb += 2 * lanes, wb += step) {
            IntVector p0 = IntVector.fromMemorySegment(I, ws, wb, LE);
            e0 = FloatVector.fromArray(F, xs, xb).fma(HalfPrecisionVectors.f16High(p0.lanewise(VectorOperators.LSHL, 16)), e0);
            o0 = FloatVector.fromArray(F, xs, xb + lanes).fma(HalfPrecisionVectors.f16High(p0), o0);
        }
        return Lanes.sum(e0.add(o0));
    }

    /** Sum over the first {@code head} elements (a whole number of vectors) of one F32 row at w0. */
    private static float f32Row(float[] xs, int xo, MemorySegment ws, long w0, int head) {
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        int lanes = I.length();
        int pairs = head / (2 * lanes) * (2 * lanes);
        int e = 0;
        for (; e < pairs; e += 2 * lanes) {
            s0 = FloatVector.fromArray(F, xs, xo + e)
                    .fma(IntVector.fromMemorySegment(I, ws, w0 + 4L * e, LE).reinterpretAsFloats(), s0);
            s1 = FloatVector.fromArray(F, xs, xo + e + lanes)
                    .fma(IntVector.fromMemorySegment(I, ws, w0 + 4L * (e + lanes), LE).reinterpretAsFloats(), s1);
        }
        if (e < head) {
            s0 = FloatVector.fromArray(F, xs, xo + e)
                    .fma(IntVector.fromMemorySegment(I, ws, w0 + 4L * e, LE).reinterpretAsFloats(), s0);
        }
        return Lanes.sum(s0.add(s1));
    }

    /** Scalar sum over k in [from, k) of x[i, k] w[j, k], any weight dtype. */
    private static float tailAny(MatrixOperand x, int i, MatrixOperand w, int j, int from) {
        float s = 0;
        MemorySegment xs = x.segment();
        MemorySegment ws = w.segment();
        long xo = x.rowOffset(i);
        long wo = w.rowOffset(j);
        for (int e = from; e < w.cols(); e++) {
            float wv = switch (w.dtype()) {
                case BF16 -> DType.bf16ToFloat(ws.get(SHORT, wo + 2L * e));
                case F16 -> Float.float16ToFloat(ws.get(SHORT, wo + 2L * e));
                default -> ws.get(FLOAT, wo + 4L * e);
            };
            s += xs.get(FLOAT, xo + 4L * e) * wv;
        }
        return s;
    }

    // ---------------------------------------------------------------- prefill: panels and 4x4 tiles

    /**
     * x is copied once per call into the calling thread's float array and each panel, F32 weights
     * included, into the working thread's panel array, so the tiles load only from heap arrays: no
     * segment class profile, polluted or not, reaches them.
     */
    private static void panelled(MatrixOperand x, MatrixOperand w, float alpha, float[] bias, MatrixOperand out) {
        int n = w.rows();
        int k = w.cols();
        int m = x.rows();
        float[] xs = ThreadScratch.floats(m * k);
        for (int i = 0; i < m; i++) {
            MemorySegment.copy(x.segment(), FLOAT, x.rowOffset(i), xs, i * k, k);
        }
        int panelRows = panelRows(k, n);
        int panels = (n + panelRows - 1) / panelRows;
        CpuParallel.forRange(panels, 1, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int j0 = p * panelRows;
                int rows = Math.min(panelRows, n - j0);
                float[] ps = ThreadScratch.panel(rows * k);
                for (int r = 0; r < rows; r++) {
                    HalfPrecisionVectors.convertRow(w.dtype(), w.segment(), w.rowOffset(j0 + r), ps, r * k, k);
                }
                panel(xs, m, ps, j0, rows, k, alpha, bias, out);
            }
        });
    }

    /** Weight rows per panel: about {@link #PANEL_BYTES} of F32, a multiple of 4, enough panels to share. */
    private static int panelRows(int k, int n) {
        int rows = (int) Math.max(4, Math.min(256, PANEL_BYTES / (4L * Math.max(1, k))));
        int perThread = (n + 2 * CpuParallel.threads() - 1) / (2 * CpuParallel.threads());
        rows = Math.min(rows, Math.max(4, perThread));
        return rows & ~3;
    }

    /** All m x rows (packed, k apart) against one panel of {@code rows} weight rows that start at column j0. */
    private static void panel(float[] xs, int m, float[] ps, int j0, int rows, int k, float alpha, float[] bias,
                              MatrixOperand out) {
        MemorySegment os = out.segment();
        int fullCols = rows & ~3;
        int i = 0;
        for (; i + 4 <= m; i += 4) {
            for (int c = 0; c < fullCols; c += 4) {
                tile4x4(xs, i * k, ps, c * k, k, os, out.rowOffset(i), out.rowStrideBytes(), j0 + c, alpha, bias);
            }
        }
        for (; i < m; i++) {
            for (int c = 0; c < fullCols; c += 4) {
                tile1x4(xs, i * k, ps, c * k, k, os, out.rowOffset(i), j0 + c, alpha, bias);
            }
        }
        for (int c = fullCols; c < rows; c++) {
            for (int r = 0; r < m; r++) {
                float s = dot(xs, r * k, ps, c * k, k);
                os.set(FLOAT, out.rowOffset(r) + 4L * (j0 + c), alpha * s + bias[j0 + c]);
            }
        }
    }

    /** out[i..i+3, j..j+3] from 4 x rows at a0 and 4 weight rows at b0, all k apart. */
    private static void tile4x4(float[] a, int a0, float[] b, int b0, int k, MemorySegment c, long c0, long cs,
                                int j, float alpha, float[] bias) {
        int a1 = a0 + k;
        int a2 = a1 + k;
        int a3 = a2 + k;
        int b1 = b0 + k;
        int b2 = b1 + k;
        int b3 = b2 + k;
        FloatVector s00 = FloatVector.zero(F), s01 = FloatVector.zero(F), s02 = FloatVector.zero(F), s03 = FloatVector.zero(F);
        FloatVector s10 = FloatVector.zero(F), s11 = FloatVector.zero(F), s12 = FloatVector.zero(F), s13 = FloatVector.zero(F);
        FloatVector s20 = FloatVector.zero(F), s21 = FloatVector.zero(F), s22 = FloatVector.zero(F), s23 = FloatVector.zero(F);
        FloatVector s30 = FloatVector.zero(F), s31 = FloatVector.zero(F), s32 = FloatVector.zero(F), s33 = FloatVector.zero(F);
        int bound = F.loopBound(k);
        for (int e = 0; e < bound; e += F.length()) {
            FloatVector w0 = FloatVector.fromArray(F, b, b0 + e);
            FloatVector w1 = FloatVector.fromArray(F, b, b1 + e);
            FloatVector w2 = FloatVector.fromArray(F, b, b2 + e);
            FloatVector w3 = FloatVector.fromArray(F, b, b3 + e);
            FloatVector x0 = FloatVector.fromArray(F, a, a0 + e);
            s00 = x0.fma(w0, s00);
            s01 = x0.fma(w1, s01);
            s02 = x0.fma(w2, s02);
            s03 = x0.fma(w3, s03);
            FloatVector x1 = FloatVector.fromArray(F, a, a1 + e);
            s10 = x1.fma(w0, s10);
            s11 = x1.fma(w1, s11);
            s12 = x1.fma(w2, s12);
            s13 = x1.fma(w3, s13);
            FloatVector x2 = FloatVector.fromArray(F, a, a2 + e);
            s20 = x2.fma(w0, s20);
            s21 = x2.fma(w1, s21);
            s22 = x2.fma(w2, s22);
            s23 = x2.fma(w3, s23);
            FloatVector x3 = FloatVector.fromArray(F, a, a3 + e);
            s30 = x3.fma(w0, s30);
            s31 = x3.fma(w1, s31);
            s32 = x3.fma(w2, s32);
            s33 = x3.fma(w3, s33);
        }
        float[] r = {
                Lanes.sum(s00), Lanes.sum(s01),
                Lanes.sum(s02), Lanes.sum(s03),
                Lanes.sum(s10), Lanes.sum(s11),
                Lanes.sum(s12), Lanes.sum(s13),
                Lanes.sum(s20), Lanes.sum(s21),
                Lanes.sum(s22), Lanes.sum(s23),
                Lanes.sum(s30), Lanes.sum(s31),
                Lanes.sum(s32), Lanes.sum(s33)};
        finishTile(r, 4, a, a0, b, b0, k, bound, c, c0, cs, j, alpha, bias);
    }

    /** out[i, j..j+3] from one x row at a0 and 4 weight rows at b0, k apart. */
    private static void tile1x4(float[] a, int a0, float[] b, int b0, int k, MemorySegment c, long c0, int j,
                                float alpha, float[] bias) {
        int b1 = b0 + k;
        int b2 = b1 + k;
        int b3 = b2 + k;
        FloatVector s0 = FloatVector.zero(F);
        FloatVector s1 = FloatVector.zero(F);
        FloatVector s2 = FloatVector.zero(F);
        FloatVector s3 = FloatVector.zero(F);
        int bound = F.loopBound(k);
        for (int e = 0; e < bound; e += F.length()) {
            FloatVector x0 = FloatVector.fromArray(F, a, a0 + e);
            s0 = x0.fma(FloatVector.fromArray(F, b, b0 + e), s0);
            s1 = x0.fma(FloatVector.fromArray(F, b, b1 + e), s1);
            s2 = x0.fma(FloatVector.fromArray(F, b, b2 + e), s2);
            s3 = x0.fma(FloatVector.fromArray(F, b, b3 + e), s3);
        }
        float[] r = {Lanes.sum(s0), Lanes.sum(s1),
                Lanes.sum(s2), Lanes.sum(s3)};
        finishTile(r, 1, a, a0, b, b0, k, bound, c, c0, 0, j, alpha, bias);
    }

    /**
     * Stores a tile of {@code rows} x 4 reduced sums {@code r} (row-major): adds the scalar k tail
     * from {@code from}, scales by alpha, adds the bias.
     */
    private static void finishTile(float[] r, int rows, float[] a, int a0, float[] b, int b0, int k, int from,
                                   MemorySegment c, long c0, long cs, int j, float alpha, float[] bias) {
        for (int i = 0; i < rows; i++) {
            for (int t = 0; t < 4; t++) {
                float tail = tail(a, a0 + i * k, b, b0 + t * k, from, k);
                c.set(FLOAT, c0 + i * cs + 4L * (j + t), alpha * (r[4 * i + t] + tail) + bias[j + t]);
            }
        }
    }

    private static float dot(float[] a, int a0, float[] b, int b0, int k) {
        FloatVector s = FloatVector.zero(F);
        int bound = F.loopBound(k);
        for (int e = 0; e < bound; e += F.length()) {
            s = FloatVector.fromArray(F, a, a0 + e).fma(FloatVector.fromArray(F, b, b0 + e), s);
        }
        return Lanes.sum(s) + tail(a, a0, b, b0, bound, k);
    }

    private static float tail(float[] a, int a0, float[] b, int b0, int from, int k) {
        float s = 0;
        for (int e = from; e < k; e++) {
            s += a[a0 + e] * b[b0 + e];
        }
        return s;
    }
}
