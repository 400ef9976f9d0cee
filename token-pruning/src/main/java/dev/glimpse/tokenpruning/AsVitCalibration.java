package dev.glimpse.tokenpruning;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;

/**
 * Budget-aware calibration of AS-ViT thresholds: fits one threshold per stage so that the mean
 * keep ratio over a calibration set follows a target cumulative schedule, replacing AS-ViT's
 * training-time FLOPs loss with a direct fit (no gradients needed).
 *
 * <p>Input per image: {@code scores[k][i]}, the AS-ViT score of original patch i at stage k
 * (computed by the encoder's taps at the stage blocks; entries for patches an earlier stage
 * already dropped are ignored and may be NaN). The cascade is simulated: patch i survives stage
 * k iff it survived stage k - 1 and {@code scores[k][i] > theta_k}; an image's keep ratio at stage
 * k is its survivors over its patches. Stages are fitted in order: theta_k by bisection (the mean
 * ratio is non-increasing in theta_k) until the mean keep ratio over images at stage k matches
 * {@code target[k]}, given the already-fitted earlier thresholds; the bracket ends are
 * compared and the closer one wins, so the result is as close as the discrete scores allow.
 * Scores measured on the unpruned tower are an approximation of what a pruned pass would see
 * (later stages' attention changes when earlier stages prune); calibrating on scores from a
 * pruned pass with the earlier thresholds removes it.
 */
public final class AsVitCalibration {

    private static final Logger LOG = LoggerFactory.getLogger(AsVitCalibration.class);
    private static final int BISECTION_STEPS = 100;

    private AsVitCalibration() {
    }

    /** A geometric cumulative schedule reaching {@code finalRatio} after {@code stages}: rho^((k+1)/K). */
    public static double[] geometricSchedule(double finalRatio, int stages) {
        if (!(finalRatio > 0 && finalRatio <= 1) || stages <= 0) {
            throw new IllegalArgumentException("keep ratio must be in (0, 1] and stages >= 1, got " + finalRatio + ", " + stages);
        }
        double[] out = new double[stages];
        for (int k = 0; k < stages; k++) {
            out[k] = Math.pow(finalRatio, (k + 1.0) / stages);
        }
        return out;
    }

    /** Thresholds for {@code blocks} whose mean cumulative keep ratios follow {@code target}. */
    public static AsVitThresholds fit(List<float[][]> scores, int[] blocks, double[] target) {
        if (scores.isEmpty()) {
            throw new IllegalArgumentException("AS-ViT calibration needs at least one image");
        }
        if (target.length != blocks.length) {
            throw new IllegalArgumentException(target.length + " target ratios for " + blocks.length + " stages");
        }
        for (int k = 0; k < target.length; k++) {
            if (!(target[k] >= 0 && target[k] <= 1) || (k > 0 && target[k] > target[k - 1])) {
                throw new IllegalArgumentException("target keep ratios must be in [0, 1] and non-increasing (a cascade): "
                        + Arrays.toString(target));
            }
        }
        for (float[][] image : scores) {
            if (image.length != blocks.length) {
                throw new IllegalArgumentException("each image needs scores for " + blocks.length + " stages, got " + image.length);
            }
        }
        double[] thetas = new double[blocks.length];
        for (int k = 0; k < blocks.length; k++) {
            thetas[k] = fitStage(scores, thetas, k, target[k]);
            LOG.debug("as-vit stage {} (block {}): theta {} -> mean keep {}", k, blocks[k], thetas[k],
                    meanKeepRatios(scores, thetas)[k]);
        }
        return new AsVitThresholds(blocks, thetas);
    }

    /** Mean over images of the cumulative keep ratio after each stage, for these thresholds. */
    public static double[] meanKeepRatios(List<float[][]> scores, double[] thresholds) {
        int stages = thresholds.length;
        double[] sum = new double[stages];
        for (float[][] image : scores) {
            int n = image[0].length;
            boolean[] alive = new boolean[n];
            Arrays.fill(alive, true);
            for (int k = 0; k < stages; k++) {
                int count = 0;
                for (int i = 0; i < n; i++) {
                    alive[i] = alive[i] && image[k][i] > thresholds[k];
                    count += alive[i] ? 1 : 0;
                }
                sum[k] += (double) count / n;
            }
        }
        for (int k = 0; k < stages; k++) {
            sum[k] /= scores.size();
        }
        return sum;
    }

    private static double fitStage(List<float[][]> scores, double[] thetas, int stage, double target) {
        double lo = Double.POSITIVE_INFINITY;
        double hi = Double.NEGATIVE_INFINITY;
        for (float[][] image : scores) {
            for (float v : image[stage]) {
                if (Float.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (lo > hi) {
            throw new IllegalArgumentException("AS-ViT calibration: stage " + stage + " has no finite scores");
        }
        lo = Math.nextDown(lo);
        double[] trial = thetas.clone();
        for (int step = 0; step < BISECTION_STEPS && hi - lo > 0; step++) {
            double mid = lo + (hi - lo) / 2;
            if (mid <= lo || mid >= hi) {
                break;
            }
            trial[stage] = mid;
            if (meanKeepRatios(scores, trial)[stage] > target) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        trial[stage] = lo;
        double atLo = Math.abs(meanKeepRatios(scores, trial)[stage] - target);
        trial[stage] = hi;
        double atHi = Math.abs(meanKeepRatios(scores, trial)[stage] - target);
        return atLo < atHi ? lo : hi;
    }
}
