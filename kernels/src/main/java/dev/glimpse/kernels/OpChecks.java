package dev.glimpse.kernels;

import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Shape and index checks that every {@link Backend} makes the same way, whatever device the
 * tensors live on. Each backend first checks device and dtype with its own messages, then calls
 * these, so the CPU and CUDA backends reject the same arguments with the same words.
 */
public final class OpChecks {

    private OpChecks() {
    }

    /** {@link Backend#copy}: dst has src's shape. */
    public static void copyShapes(Tensor src, Tensor dst) {
        if (!src.sameShape(dst)) {
            throw new TensorException("copy: dst must have src's shape " + Arrays.toString(src.shape()) + ", got " + dst);
        }
    }

    /**
     * {@link Backend#attentionRowScores}: at least one block, every block F32 [heads, width] of one
     * shape with heads >= 1, {@code first} in [0, width], out [1, width - first]; returns the token count.
     */
    public static int attentionRowScores(List<Tensor> rows, int first, Tensor out) {
        if (rows == null || rows.isEmpty()) {
            throw new TensorException("attentionRowScores: needs the attention rows of at least one layer");
        }
        Tensor head = rows.get(0);
        for (Tensor t : rows) {
            if (t.dtype() != DType.F32 || t.rank() != 2 || !t.sameShape(head) || t.dim(0) < 1) {
                throw new TensorException("attentionRowScores: every block must be F32 [heads >= 1, width] of one shape, got "
                        + t + " and " + head);
            }
        }
        int width = head.dim(1);
        if (first < 0 || first > width) {
            throw new TensorException("attentionRowScores: first column " + first + " is outside [0, " + width + "]");
        }
        int n = width - first;
        if (out.dtype() != DType.F32 || !Arrays.equals(out.shape(), new int[] {1, n})) {
            throw new TensorException("attentionRowScores: out must be F32 [1, " + n + "], got " + out);
        }
        return n;
    }

    /** {@code index_select(x, 0, rows)}: x has rank >= 1, out is x's shape with dim 0 = rows.length, rows lie in x. */
    public static void gatherRows(Tensor x, int[] rows, Tensor out) {
        if (x.rank() == 0) {
            throw new TensorException("gatherRows: x must have rank >= 1, got " + x);
        }
        if (rows == null) {
            throw new TensorException("gatherRows: rows must not be null");
        }
        int[] expected = x.shape();
        expected[0] = rows.length;
        if (!Arrays.equals(out.shape(), expected)) {
            throw new TensorException("gatherRows: out must have shape " + Arrays.toString(expected) + ", got " + out);
        }
        for (int r : rows) {
            if (r < 0 || r >= x.dim(0)) {
                throw new TensorException("gatherRows: row " + r + " is outside [0, " + x.dim(0) + ") of " + x);
            }
        }
    }

    /**
     * {@code cat(parts, dim=axis)} into out: at least one part, axis in range for out's rank, every
     * part (first passed to {@code partCheck}, the backend's device check) of out's rank and
     * matching the first off the axis, and out the concatenated shape.
     *
     * @return the axis, made non-negative
     */
    public static int concat(int axis, List<Tensor> parts, Tensor out, Consumer<Tensor> partCheck) {
        if (parts == null || parts.isEmpty()) {
            throw new TensorException("concat: needs at least one part");
        }
        int rank = out.rank();
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new TensorException("concat: axis " + axis + " is out of range for rank " + rank + " (out " + out + ")");
        }
        int[] first = parts.get(0).shape();
        int total = 0;
        for (Tensor p : parts) {
            partCheck.accept(p);
            if (p.rank() != rank || !Arrays.equals(withAxis(p.shape(), a, 0), withAxis(first, a, 0))) {
                throw new TensorException("concat: every part must have rank " + rank + " and match "
                        + Arrays.toString(first) + " except on axis " + a + ", got " + p);
            }
            total += p.dim(a);
        }
        int[] expected = withAxis(first, a, total);
        if (!Arrays.equals(out.shape(), expected)) {
            throw new TensorException("concat: out must have shape " + Arrays.toString(expected) + ", got " + out);
        }
        return a;
    }

    /** {@code nn.Embedding}: every token id lies in [0, vocab). */
    public static void tokenIds(int[] ids, int vocab) {
        for (int id : ids) {
            if (id < 0 || id >= vocab) {
                throw new TensorException("embedding: token id " + id + " is outside the vocabulary of size " + vocab);
            }
        }
    }

    /**
     * Attention heads of q [T, Hq, D], k and v [S, Hkv, D] (ranks already checked): k and v of one
     * shape, k's head dim q's, and Hq a multiple of Hkv.
     */
    public static void attentionHeads(Tensor q, Tensor k, Tensor v) {
        if (!k.sameShape(v)) {
            throw new TensorException("attention: k and v must have the same shape [S, Hkv, D], got " + k + " and " + v);
        }
        int hq = q.dim(1);
        int d = q.dim(2);
        int hkv = k.dim(1);
        if (k.dim(2) != d) {
            throw new TensorException("attention: k's head dim must equal q's (" + d + "), got " + k);
        }
        if (hkv == 0 || hq % hkv != 0) {
            throw new TensorException("attention: query heads (" + hq + ") must be a multiple of kv heads (" + hkv + ")");
        }
    }

    /** An attention mask is given, and a causal one leaves every one of t queries a key among s. */
    public static void attentionMask(AttentionMask mask, int t, int s) {
        if (mask == null) {
            throw new TensorException("attention: mask must not be null (AttentionMask.BIDIRECTIONAL or causal(start))");
        }
        if (mask instanceof AttentionMask.Causal c && (long) c.queryStart() + t > s) {
            throw new TensorException("attention: causal queryStart " + c.queryStart() + " + " + t
                    + " queries needs at least that many keys, got S = " + s);
        }
    }

    /** Size of the last dim (1 for a scalar). */
    public static int width(Tensor t) {
        return t.rank() == 0 ? 1 : t.dim(-1);
    }

    /** Number of rows: the product of all dims but the last (1 for rank 0 and 1), at most Integer.MAX_VALUE. */
    public static int rows(Tensor t) {
        long rows = 1;
        for (int i = 0; i < t.rank() - 1; i++) {
            rows *= t.dim(i);
        }
        if (rows > Integer.MAX_VALUE) {
            throw new TensorException(t + " has " + rows + " rows; at most " + Integer.MAX_VALUE + " are supported");
        }
        return (int) rows;
    }

    /**
     * {@link Backend#rope}: x [T, H, D] (rank checked by the caller), cos and sin both [T, R/2] with
     * R <= D; returns R/2.
     */
    public static int ropeTables(Tensor x, Tensor cos, Tensor sin) {
        int t = x.dim(0);
        int d = x.dim(2);
        int half = cos.dim(1);
        if (cos.dim(0) != t || !cos.sameShape(sin)) {
            throw new TensorException("rope: cos and sin must both be [" + t + ", R/2] for x " + x
                    + ", got cos " + cos + " and sin " + sin);
        }
        if (2 * half > d) {
            throw new TensorException("rope: rotary dims R = " + 2 * half + " exceed the head dim " + d + " of x " + x);
        }
        return half;
    }

    private static int[] withAxis(int[] shape, int axis, int value) {
        int[] s = shape.clone();
        s[axis] = value;
        return s;
    }
}
