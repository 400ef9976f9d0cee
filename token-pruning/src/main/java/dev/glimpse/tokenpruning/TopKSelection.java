package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;

import java.util.stream.IntStream;

/**
 * Top-k by score through the backend's O(n) batched selection ({@link Backend#topK}), so a GPU
 * backend's kernel is used where there is one. Results come back in raster (index) order. Ties
 * keep the lower index (the backend's rule); a budget at or above the token count keeps every
 * token without calling the backend, so "no pruning" is exactly the identity.
 */
public final class TopKSelection {

    private TopKSelection() {
    }

    /** Indices of the {@code k} largest {@code scores}, ascending; all indices when k >= n. */
    public static int[] topIndices(Backend backend, float[] scores, int k) {
        int n = scores.length;
        if (k < 0) {
            throw new IllegalArgumentException("cannot keep a negative number of tokens: " + k);
        }
        if (k >= n) {
            return IntStream.range(0, n).toArray();
        }
        try (Tensor host = Tensor.of(scores, 1, n)) {
            Tensor onDevice = backend.upload(host);
            try {
                return topIndices(backend, onDevice, k);
            } finally {
                if (onDevice != host) {
                    onDevice.close();
                }
            }
        }
    }

    /**
     * Indices of the {@code k} largest of {@code scores} F32 [1, n] on the backend's device, ascending;
     * all indices when k >= n. Only the k indices come back to the host.
     */
    public static int[] topIndices(Backend backend, Tensor scores, int k) {
        if (scores.rank() != 2 || scores.dim(0) != 1) {
            throw new IllegalArgumentException("top-k scores must be one row [1, n], got " + scores);
        }
        int n = scores.dim(1);
        if (k < 0) {
            throw new IllegalArgumentException("cannot keep a negative number of tokens: " + k);
        }
        if (k >= n) {
            return IntStream.range(0, n).toArray();
        }
        try (TopK top = backend.topK(scores, k, TopK.Order.BY_INDEX)) {
            return HostTensors.ints(backend, top.indices());
        }
    }
}
