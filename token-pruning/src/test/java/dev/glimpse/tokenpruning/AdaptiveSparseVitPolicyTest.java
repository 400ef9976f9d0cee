package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.glimpse.tokenpruning.DecoderFixtures.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AdaptiveSparseVitPolicyTest {

    // two heads, [CLS] + 2 patches
    private static final float[][] CLS = {{0.5f, 0.3f, 0.2f}, {0.4f, 0.1f, 0.5f}};
    private static final float[][] NORMS = {{1, 1, 3}, {1, 3, 1}};

    private final CpuBackend backend = new CpuBackend();

    @Test
    void scoreIsClassAttentionWeightedByTokenLevelHeadImportance() {
        // patch 1: eta = (1/4, 3/4) -> 0.3/4 + 0.1*3/4 = 0.15; patch 2: eta = (3/4, 1/4) -> 0.15 + 0.125 = 0.275
        assertArrayEquals(new float[] {0.15f, 0.275f}, AdaptiveSparseVitPolicy.scores(CLS, NORMS), 1e-6f);
    }

    @Test
    void keepsClsAndTokensAboveTheStageThreshold() {
        AdaptiveSparseVitPolicy p = new AdaptiveSparseVitPolicy(new AsVitThresholds(new int[] {4}, new double[] {0.2}));
        AdaptiveSparseVitPolicy.Decision d = p.decide(backend, 4, rows(CLS), rows(NORMS), true);
        assertArrayEquals(new int[] {0, 2}, d.rows());
        // as a selection over a 1 x 2 grid: patch (0, 1) survives
        TokenSelection s = d.survivors(0, new TokenGrid(1, 2), new int[] {0, 1, 2});
        assertArrayEquals(new int[] {1}, s.kept());
    }

    @Test
    void clsIsKeptEvenWhenEveryPatchFallsBelow() {
        AdaptiveSparseVitPolicy p = new AdaptiveSparseVitPolicy(new AsVitThresholds(new int[] {4}, new double[] {1}));
        assertArrayEquals(new int[] {0}, p.keepRows(backend, 4, rows(CLS), rows(NORMS), true));
    }

    @Test
    void towersWithoutClsAreRejected() {
        assertThrows(IllegalArgumentException.class,
                () -> AdaptiveSparseVitPolicy.defaults().keepRows(backend, 3, rows(CLS), rows(NORMS), false));
    }

    @Test
    void thresholdsRoundTripThroughTheParameterFile() {
        AsVitThresholds t = new AsVitThresholds(new int[] {7, 13, 19}, new double[] {0.0011, 0.0025, 0.004});
        assertEquals(t, AsVitThresholds.fromJson(t.toJson()));
        assertEquals(1, t.stageAt(13));
        assertEquals(-1, t.stageAt(12));
    }

    @Test
    void calibrationReachesTheTargetCumulativeKeepRatios() {
        SplittableRandom random = new SplittableRandom(11);
        List<float[][]> images = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int n = 100 + random.nextInt(100);
            double scale = 0.5 + random.nextDouble();
            float[][] scores = new float[3][n];
            for (int k = 0; k < 3; k++) {
                for (int j = 0; j < n; j++) {
                    scores[k][j] = (float) (scale * random.nextDouble() * random.nextDouble() / n);
                }
            }
            images.add(scores);
        }
        double[] target = AsVitCalibration.geometricSchedule(0.7, 3);
        AsVitThresholds t = AsVitCalibration.fit(images, new int[] {3, 6, 9}, target);
        assertArrayEquals(target, AsVitCalibration.meanKeepRatios(images, t.thresholds()), 0.005);
    }

    @Test
    void geometricScheduleEndsAtTheFinalRatio() {
        double[] s = AsVitCalibration.geometricSchedule(0.125, 3);
        assertArrayEquals(new double[] {0.5, 0.25, 0.125}, s, 1e-12);
    }
}
