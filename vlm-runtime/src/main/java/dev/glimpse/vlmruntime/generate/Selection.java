package dev.glimpse.vlmruntime.generate;

/** Quickselect on float arrays (expected O(n)), for top-k thresholds. */
final class Selection {

    private Selection() {
    }

    /** The k-th largest (1-based) of {@code a[0, n)}; reorders {@code a}. */
    static float kthLargest(float[] a, int n, int k) {
        if (k < 1 || k > n) {
            throw new IllegalArgumentException("k = " + k + " outside [1, " + n + "]");
        }
        int target = n - k;
        int lo = 0;
        int hi = n - 1;
        while (lo < hi) {
            float pivot = median(a[lo], a[lo + (hi - lo) / 2], a[hi]);
            int i = lo;
            int j = hi;
            while (i <= j) {
                while (a[i] < pivot) {
                    i++;
                }
                while (a[j] > pivot) {
                    j--;
                }
                if (i <= j) {
                    float t = a[i];
                    a[i++] = a[j];
                    a[j--] = t;
                }
            }
            if (target <= j) {
                hi = j;
            } else if (target >= i) {
                lo = i;
            } else {
                return a[target];
            }
        }
        return a[target];
    }

    private static float median(float x, float y, float z) {
        return Math.max(Math.min(x, y), Math.min(Math.max(x, y), z));
    }
}
