package dev.glimpse.vlmruntime.bench;

import java.util.Arrays;

/**
 * A variant's samples of one metric over the rounds of an in-process A/B, set against the base
 * variant's samples of the same rounds: the median and minimum, and the per-round ratio
 * variant / base (the pair ran back to back, so drift between rounds cancels in it) as its median
 * and the spread of its middle half (first and third quartile) and its extremes.
 *
 * @param median      median of the variant's samples
 * @param min         smallest sample
 * @param ratioMedian median of the per-round ratios variant / base
 * @param ratioQ1     first quartile of the ratios
 * @param ratioQ3     third quartile of the ratios
 * @param ratioMin    smallest ratio
 * @param ratioMax    largest ratio
 */
record PairedStats(double median, double min, double ratioMedian, double ratioQ1, double ratioQ3, double ratioMin,
                   double ratioMax) {

    /** The statistics of {@code samples} against {@code base}, both indexed by round. */
    static PairedStats of(double[] samples, double[] base) {
        if (samples.length == 0 || samples.length != base.length) {
            throw new IllegalArgumentException("paired samples need one per round on both sides, got " + samples.length
                    + " and " + base.length);
        }
        double[] ratios = new double[samples.length];
        for (int i = 0; i < samples.length; i++) {
            ratios[i] = samples[i] / base[i];
        }
        double[] sorted = ratios.clone();
        Arrays.sort(sorted);
        return new PairedStats(quantile(samples, 0.5), Arrays.stream(samples).min().orElseThrow(),
                quantile(ratios, 0.5), quantile(ratios, 0.25), quantile(ratios, 0.75), sorted[0],
                sorted[sorted.length - 1]);
    }

    /** The {@code q} quantile of {@code values}, linearly interpolated between order statistics (q 0.5: the median). */
    static double quantile(double[] values, double q) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double at = q * (sorted.length - 1);
        int low = (int) Math.floor(at);
        int high = Math.min(low + 1, sorted.length - 1);
        return sorted[low] + (at - low) * (sorted[high] - sorted[low]);
    }
}
