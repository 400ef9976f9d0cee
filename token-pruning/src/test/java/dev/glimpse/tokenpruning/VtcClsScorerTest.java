package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class VtcClsScorerTest {

    // [CLS] rows of two layers, two heads, [CLS] + 3 patches (column 0 is [CLS] itself)
    private static final float[][] LAYER_A = {{0.1f, 0.2f, 0.3f, 0.4f}, {0.3f, 0.4f, 0.2f, 0.1f}};
    private static final float[][] LAYER_B = {{0.0f, 0.5f, 0.25f, 0.25f}, {0.2f, 0.1f, 0.3f, 0.4f}};
    // head means: A -> (0.3, 0.25, 0.25); B -> (0.3, 0.275, 0.325); sum -> (0.6, 0.525, 0.575)
    private static final float[] EXPECTED = {0.6f, 0.525f, 0.575f};

    private final CpuBackend backend = new CpuBackend();
    private final TreeMap<Integer, Tensor> tensors = new TreeMap<>();

    @AfterEach
    void close() {
        tensors.values().forEach(Tensor::close);
    }

    @Test
    void scoreIsTheHeadMeanSummedOverLayersSkippingCls() {
        assertArrayEquals(EXPECTED, VtcClsScorer.score(new float[][][] {LAYER_A, LAYER_B}), 1e-6f);
    }

    @Test
    void selectorSumsFromTheStartLayerToThePenultimate() {
        // a 4-layer tower: penultimate is layer 2; start 1 sums layers 1 and 2, never 0 or 3
        tensors.put(0, tensor(new float[][] {{0, 9, 9, 9}, {0, 9, 9, 9}}));
        tensors.put(1, tensor(LAYER_A));
        tensors.put(2, tensor(LAYER_B));
        tensors.put(3, tensor(new float[][] {{0, 9, 9, 9}, {0, 9, 9, 9}}));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofClsRows(4, tensors));
        VtcClsSelector selector = new VtcClsSelector(1);
        assertArrayEquals(EXPECTED, selector.score(backend, frame), 1e-6f);
        assertArrayEquals(new int[] {1, 2}, selector.clsLayers(4));
    }

    @Test
    void keepsTheTopUThenReturnsThemInRasterOrder() {
        tensors.put(1, tensor(LAYER_A));
        tensors.put(2, tensor(LAYER_B));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofClsRows(4, tensors));
        // scores 0.6, 0.525, 0.575: top 2 are patches 0 and 2
        TokenSelection s = new VtcClsSelector(1).select(backend, frame, 2);
        assertArrayEquals(new int[] {0, 2}, s.kept());
        assertArrayEquals(EXPECTED, s.scores(), 1e-6f);
    }

    @Test
    void sigLipFallsBackToTheHeadMeanOfTheProbeAttention() {
        tensors.put(-1, tensor(new float[][] {{0.2f, 0.5f, 0.3f}, {0.4f, 0.1f, 0.5f}}));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofProbe(27, tensors.get(-1)));
        assertArrayEquals(new float[] {0.3f, 0.3f, 0.4f}, new VtcClsSelector(16).score(backend, frame), 1e-6f);
    }

    @Test
    void aMissingLayerIsNamed() {
        tensors.put(1, tensor(LAYER_A));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofClsRows(4, tensors));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new VtcClsSelector(1).select(backend, frame, 1));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("layer 2"), e.getMessage());
    }

    @Test
    void backendScoringGivesTheHostPathsBitsAndTokens() {
        SplittableRandom r = new SplittableRandom(11);
        for (int l = 0; l < 24; l++) {
            float[][] rows = new float[16][577];
            for (float[] head : rows) {
                for (int i = 0; i < head.length; i++) {
                    head[i] = (float) r.nextDouble(0, 2.0 / 577);
                }
            }
            tensors.put(l, tensor(rows));
        }
        VisualFrame frame = new VisualFrame(0, new TokenGrid(24, 24), VisionAttention.ofClsRows(24, tensors));
        VtcClsSelector selector = VtcClsSelector.defaults();
        TokenSelection onBackend = selector.select(backend, frame, 64);
        TokenSelection onHost = withHostScores(() -> selector.select(backend, frame, 64));
        assertArrayEquals(onHost.scores(), onBackend.scores(), 0f);
        assertArrayEquals(onHost.kept(), onBackend.kept());
        assertArrayEquals(selector.scoreOnHost(backend, frame), selector.score(backend, frame), 0f);
    }

    @Test
    void backendProbeScoringGivesTheHostPathsBits() {
        SplittableRandom r = new SplittableRandom(5);
        float[][] probe = new float[16][729];
        for (float[] head : probe) {
            for (int i = 0; i < head.length; i++) {
                head[i] = (float) r.nextDouble(0, 2.0 / 729);
            }
        }
        tensors.put(-1, tensor(probe));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(27, 27), VisionAttention.ofProbe(27, tensors.get(-1)));
        VtcClsSelector selector = VtcClsSelector.defaults();
        TokenSelection onBackend = selector.select(backend, frame, 100);
        TokenSelection onHost = withHostScores(() -> selector.select(backend, frame, 100));
        assertArrayEquals(onHost.scores(), onBackend.scores(), 0f);
        assertArrayEquals(onHost.kept(), onBackend.kept());
    }

    @Test
    void aSelectionLeftOnTheBackendReadsBackAsTheSelection() {
        SplittableRandom r = new SplittableRandom(3);
        for (int l = 0; l < 24; l++) {
            float[][] rows = new float[4][577];
            for (float[] head : rows) {
                for (int i = 0; i < head.length; i++) {
                    head[i] = (float) r.nextDouble(0, 2.0 / 577);
                }
            }
            tensors.put(l, tensor(rows));
        }
        VisualFrame frame = new VisualFrame(2, new TokenGrid(24, 24), VisionAttention.ofClsRows(24, tensors));
        VtcClsSelector selector = VtcClsSelector.defaults();
        TokenSelection expected = selector.select(backend, frame, 64);
        try (DeviceSelection onBackend = selector.selectOnBackend(backend, frame, 64)) {
            assertEquals(64, onBackend.count());
            assertArrayEquals(expected.kept(), onBackend.kept().toIntArray());
            assertEquals(expected, onBackend.readBack(backend));
        }
    }

    @Test
    void noSelectionIsLeftOnTheBackendWhenEveryTokenIsKeptOrTheHostScores() {
        tensors.put(1, tensor(LAYER_A));
        tensors.put(2, tensor(LAYER_B));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofClsRows(4, tensors));
        VtcClsSelector selector = new VtcClsSelector(1);
        assertNull(selector.selectOnBackend(backend, frame, 3));
        System.setProperty(VtcClsSelector.SCORES_PROPERTY, "host");
        try {
            assertNull(selector.selectOnBackend(backend, frame, 1));
        } finally {
            System.clearProperty(VtcClsSelector.SCORES_PROPERTY);
        }
    }

    @Test
    void tiedScoresKeepTheLowerPatchIndices() {
        // exact binary fractions: patch 1 differs per head but every patch's score is exactly 0.5
        tensors.put(1, tensor(new float[][] {{0.5f, 0.25f, 0.375f, 0.25f, 0.25f}, {0.5f, 0.25f, 0.125f, 0.25f, 0.25f}}));
        tensors.put(2, tensor(new float[][] {{0.5f, 0.25f, 0.25f, 0.25f, 0.25f}, {0.5f, 0.25f, 0.25f, 0.25f, 0.25f}}));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(2, 2), VisionAttention.ofClsRows(4, tensors));
        TokenSelection s = new VtcClsSelector(1).select(backend, frame, 2);
        assertArrayEquals(new float[] {0.5f, 0.5f, 0.5f, 0.5f}, s.scores(), 0f);
        assertArrayEquals(new int[] {0, 1}, s.kept());
    }

    @Test
    void anUnknownScoresSettingIsRefused() {
        tensors.put(1, tensor(LAYER_A));
        tensors.put(2, tensor(LAYER_B));
        VisualFrame frame = new VisualFrame(0, new TokenGrid(1, 3), VisionAttention.ofClsRows(4, tensors));
        System.setProperty(VtcClsSelector.SCORES_PROPERTY, "gpu");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new VtcClsSelector(1).select(backend, frame, 1));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains(VtcClsSelector.SCORES_PROPERTY));
        } finally {
            System.clearProperty(VtcClsSelector.SCORES_PROPERTY);
        }
    }

    private static TokenSelection withHostScores(Supplier<TokenSelection> select) {
        System.setProperty(VtcClsSelector.SCORES_PROPERTY, "host");
        try {
            return select.get();
        } finally {
            System.clearProperty(VtcClsSelector.SCORES_PROPERTY);
        }
    }

    private static Tensor tensor(float[][] rows) {
        float[] flat = new float[rows.length * rows[0].length];
        for (int h = 0; h < rows.length; h++) {
            System.arraycopy(rows[h], 0, flat, h * rows[0].length, rows[0].length);
        }
        return Tensor.of(flat, rows.length, rows[0].length);
    }
}
