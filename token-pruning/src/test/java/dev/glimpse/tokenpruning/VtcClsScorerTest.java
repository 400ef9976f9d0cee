package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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

    private static Tensor tensor(float[][] rows) {
        float[] flat = new float[rows.length * rows[0].length];
        for (int h = 0; h < rows.length; h++) {
            System.arraycopy(rows[h], 0, flat, h * rows[0].length, rows[0].length);
        }
        return Tensor.of(flat, rows.length, rows[0].length);
    }
}
