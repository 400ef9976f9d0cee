package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Copies, lookups and selections: dtype-converting strided copy, embedding lookup
 * ({@code nn.Embedding}), index-select along dim 0, concatenation along any axis, and argmax.
 */
final class Indexing {

    private Indexing() {
    }

    /**
     * Copies src into dst of the same shape; either may be any strided view (e.g. a KV cache
     * slice). Float dtypes convert among F32/F16/BF16 with round-to-nearest-even; integer dtypes
     * convert among themselves; float to integer truncates toward zero, as {@code Tensor.to} does.
     */
    static void copy(Tensor src, Tensor dst) {
        Rows.requireHost(src, "copy", "src");
        Rows.requireHost(dst, "copy", "dst");
        OpChecks.copyShapes(src, dst);
        if (src.numel() == 0) {
            return;
        }
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            MemorySegment.copy(src.segment(), src.byteOffset(), dst.segment(), dst.byteOffset(),
                    src.numel() * src.dtype().byteSize());
            return;
        }
        if (!src.dtype().isFloatingPoint() || !dst.dtype().isFloatingPoint()) {
            src.copyElementsTo(dst);
            return;
        }
        int n = Rows.width(src);
        CpuParallel.forRange(Rows.count(src), Math.max(1, Rows.GRAIN_ELEMENTS / Math.max(1, n)), (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(src, r, row);
                Rows.write(dst, Rows.offset(dst, r), Rows.stride(dst), n, row, 0);
            }
        });
    }

    /** {@code nn.Embedding}: out[t] = table[ids[t]] as F32; table [V, D] F32, F16 or BF16. */
    static void embedding(Tensor table, int[] ids, Tensor out) {
        Rows.requireFloat(table, "embedding", "table");
        Rows.requireRank(table, 2, "embedding", "table", "[V, D]");
        if (ids == null) {
            throw new TensorException("embedding: ids must not be null");
        }
        int vocab = table.dim(0);
        int d = table.dim(1);
        Rows.requireOut(out, new int[] {ids.length, d}, "embedding");
        OpChecks.tokenIds(ids, vocab);
        CpuParallel.forRange(ids.length, Math.max(1, Rows.GRAIN_ELEMENTS / Math.max(1, d)), (from, to) -> {
            float[] row = new float[d];
            for (int t = from; t < to; t++) {
                Rows.read(table, table.offset() + ids[t] * table.stride(0), table.stride(1), d, row, 0);
                Rows.write(out, out.offset() + (long) t * d, 1, d, row, 0);
            }
        });
    }

    /** {@code torch.index_select(x, 0, rows)} into out (x's shape with dim 0 = rows.length). */
    static void gatherRows(Tensor x, int[] rows, Tensor out) {
        Rows.requireHost(x, "gatherRows", "x");
        Rows.requireHost(out, "gatherRows", "out");
        OpChecks.gatherRows(x, rows, out);
        for (int i = 0; i < rows.length; i++) {
            copy(x.select(0, rows[i]), out.select(0, i));
        }
    }

    /** {@code torch.cat(parts, dim=axis)} into out. */
    static void concat(int axis, List<Tensor> parts, Tensor out) {
        Rows.requireHost(out, "concat", "out");
        int a = OpChecks.concat(axis, parts, out, p -> Rows.requireHost(p, "concat", "part"));
        int start = 0;
        for (Tensor p : parts) {
            int len = p.dim(a);
            if (len > 0) {
                copy(p, out.slice(a, start, start + len));
            }
            start += len;
        }
    }

    /**
     * Index of the largest value of each row of x [rows, n] (rank 1 is one row), any float dtype.
     * Ties give the first index. As {@code torch.argmax}, NaN counts as larger than every number:
     * a row holding NaN gives the index of its first NaN.
     */
    static int[] argmax(Tensor x) {
        Rows.requireFloat(x, "argmax", "x");
        if (x.rank() != 1 && x.rank() != 2) {
            throw new TensorException("argmax: x must be [rows, n] (or [n]), got " + x);
        }
        int n = Rows.width(x);
        int rows = Rows.count(x);
        if (n == 0 && rows > 0) {
            throw new TensorException("argmax: rows of x are empty (n = 0); there is no largest value in " + x);
        }
        int[] result = new int[rows];
        CpuParallel.forRange(rows, Math.max(1, Rows.GRAIN_ELEMENTS / n), (from, to) -> {
            float[] row = new float[n];
            for (int r = from; r < to; r++) {
                Rows.readRow(x, r, row);
                result[r] = argmaxOf(row, n);
            }
        });
        return result;
    }

    private static int argmaxOf(float[] row, int n) {
        int best = 0;
        float max = row[0];
        for (int i = 0; i < n && !Float.isNaN(max); i++) {
            if (row[i] > max || Float.isNaN(row[i])) {
                max = row[i];
                best = i;
            }
        }
        return best;
    }
}
