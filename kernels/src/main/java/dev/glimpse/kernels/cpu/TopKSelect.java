package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import dev.glimpse.kernels.TopK;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Batched top-k by selection, the CPU twin of SpAtten's top-k engine: expected O(n) per row,
 * never a full sort of the row; only the k winners are sorted afterwards.
 *
 * <p>Each element becomes one 64-bit key: the high half is the value's float bits mapped to an
 * order-preserving signed int (NaN mapped below -infinity, -0.0 mapped to +0.0 so the two zeros
 * count as equal), the low half is {@code Integer.MAX_VALUE - index}. Keys are therefore
 * distinct, and "larger key" means "larger value, or equal value and lower index": the
 * documented tie rule falls out of the key, and the result is deterministic. Selection is
 * quickselect with a median-of-three pivot on the keys; a recursion budget of 2 log2(n)
 * partition rounds bounds the worst case (introselect): past it the remaining range is sorted.
 *
 * <p>Rows run in parallel ({@link CpuParallel}) when the batch is large enough to pay for it.
 */
final class TopKSelect {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED;
    /** Elements per parallel chunk below which rows stay on the calling thread. */
    private static final int PARALLEL_GRAIN_ELEMENTS = 1 << 15;
    private static final int SMALL_RANGE = 16;

    private TopKSelect() {
    }

    static TopK topK(Tensor scores, int k, TopK.Order order) {
        if (order == null) {
            throw new TensorException("topK: order must be BY_VALUE or BY_INDEX, not null");
        }
        if (!scores.device().isHost()) {
            throw new TensorException("topK: scores are on " + scores.device() + "; the CPU backend needs host tensors");
        }
        if (scores.dtype() != DType.F32 || scores.rank() != 2) {
            throw new TensorException("topK: scores must be F32 [rows, n], got " + scores);
        }
        int rows = scores.dim(0);
        int n = scores.dim(1);
        if (k < 0 || k > n) {
            throw new TensorException("topK: k = " + k + " is outside [0, " + n + "] for scores " + scores);
        }
        Tensor indices = Tensor.allocate(DType.I32, rows, k);
        Tensor values = Tensor.allocate(DType.F32, rows, k);
        if (k > 0) {
            int grain = Math.max(1, PARALLEL_GRAIN_ELEMENTS / Math.max(1, n));
            CpuParallel.forRange(rows, grain, (r0, r1) -> {
                long[] keys = new long[n];
                for (int r = r0; r < r1; r++) {
                    selectRow(scores, r, n, k, order, keys, indices, values);
                }
            });
        }
        return new TopK(indices, values);
    }

    /** Selects row r's top k into row r of the outputs; {@code keys} is scratch of length n. */
    private static void selectRow(Tensor scores, int r, int n, int k, TopK.Order order, long[] keys,
                                  Tensor indices, Tensor values) {
        MemorySegment src = scores.segment();
        long rowOffset = scores.offset() + r * scores.stride(0);
        long step = scores.stride(1);
        for (int i = 0; i < n; i++) {
            keys[i] = key(src.getAtIndex(FLOAT, rowOffset + i * step), i);
        }
        if (k < n) {
            select(keys, 0, n - 1, k, 2 * (32 - Integer.numberOfLeadingZeros(n)));
        }
        // keys[0, k) now hold the k largest keys, in no particular order
        if (order == TopK.Order.BY_VALUE) {
            Arrays.sort(keys, 0, k);
            reverse(keys, k);
        } else {
            for (int i = 0; i < k; i++) {
                keys[i] = indexOf(keys[i]);
            }
            Arrays.sort(keys, 0, k);
        }
        MemorySegment idx = indices.segment();
        MemorySegment val = values.segment();
        long out = (long) r * k;
        for (int i = 0; i < k; i++) {
            int index = order == TopK.Order.BY_VALUE ? indexOf(keys[i]) : (int) keys[i];
            idx.setAtIndex(INT, out + i, index);
            val.setAtIndex(FLOAT, out + i, src.getAtIndex(FLOAT, rowOffset + index * step));
        }
    }

    /** Order-preserving key: larger value first, then lower index; NaN below everything. */
    static long key(float value, int index) {
        int ordered;
        if (Float.isNaN(value)) {
            ordered = Integer.MIN_VALUE;
        } else {
            int bits = value == 0f ? 0 : Float.floatToRawIntBits(value);
            ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF);
        }
        return ((long) ordered << 32) | (Integer.MAX_VALUE - index);
    }

    private static int indexOf(long key) {
        return Integer.MAX_VALUE - (int) (key & 0xFFFFFFFFL);
    }

    /**
     * Rearranges {@code a[lo..hi]} so that the {@code k - lo} largest keys of the range occupy
     * {@code a[lo, k)} (k is an absolute position, lo < k <= hi).
     */
    private static void select(long[] a, int lo, int hi, int k, int budget) {
        while (hi - lo > SMALL_RANGE) {
            if (budget-- == 0) {
                Arrays.sort(a, lo, hi + 1);
                reverse(a, lo, hi + 1);
                return;
            }
            int p = partition(a, lo, hi);
            // a[lo, p) > pivot = a[p] > a(p, hi]
            if (p == k || p == k - 1) {
                return;
            }
            if (p < k) {
                lo = p + 1;
            } else {
                hi = p - 1;
            }
        }
        Arrays.sort(a, lo, hi + 1);
        reverse(a, lo, hi + 1);
    }

    /** Partitions a[lo..hi] descending around a median-of-three pivot; returns its final position. */
    private static int partition(long[] a, int lo, int hi) {
        int mid = (lo + hi) >>> 1;
        if (a[mid] > a[lo]) {
            swap(a, mid, lo);
        }
        if (a[hi] > a[lo]) {
            swap(a, hi, lo);
        }
        if (a[hi] > a[mid]) {
            swap(a, hi, mid);
        }
        // a[lo] >= a[mid] >= a[hi]: the median is a[mid]; park it at hi
        swap(a, mid, hi);
        long pivot = a[hi];
        int store = lo;
        for (int i = lo; i < hi; i++) {
            long v = a[i];
            if (v > pivot) {
                a[i] = a[store];
                a[store++] = v;
            }
        }
        swap(a, store, hi);
        return store;
    }

    private static void swap(long[] a, int i, int j) {
        long t = a[i];
        a[i] = a[j];
        a[j] = t;
    }

    private static void reverse(long[] a, int to) {
        reverse(a, 0, to);
    }

    private static void reverse(long[] a, int from, int to) {
        for (int i = from, j = to - 1; i < j; i++, j--) {
            swap(a, i, j);
        }
    }
}
