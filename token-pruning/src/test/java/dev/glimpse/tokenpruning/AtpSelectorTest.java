package dev.glimpse.tokenpruning;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.TreeMap;
import java.util.TreeSet;

import static dev.glimpse.tokenpruning.DecoderFixtures.cube;
import static dev.glimpse.tokenpruning.DecoderFixtures.rows;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AtpSelectorTest {

    // one head, 4 visual tokens on a 2 x 2 grid
    private static final float[][] COLUMN_SUMS = {{1.0f, 0.5f, 0.3f, 0.2f}};
    // two text queries after the image: text attention received (0.6, 0.2, 0.1, 0.1)
    private static final float[][][] TEXT_ROWS = {{{0.2f, 0.1f, 0.1f, 0.0f}, {0.4f, 0.1f, 0.0f, 0.1f}}};

    private final CpuBackend backend = new CpuBackend();
    private final List<TokenSelection> image = List.of(TokenSelection.all(0, new TokenGrid(2, 2)));

    private DecoderAttention attention() {
        return new DecoderAttention(2, null, cube(TEXT_ROWS), rows(COLUMN_SUMS), null);
    }

    @Test
    void scoresSplitAttentionReceivedIntoVisualAndTextParts() {
        float[][] s = AtpSelector.scores(COLUMN_SUMS, TEXT_ROWS);
        // S_self = (colsum - text) / n = (0.4, 0.3, 0.2, 0.1) / 4
        assertArrayEquals(new float[] {0.1f, 0.075f, 0.05f, 0.025f}, s[0], 1e-6f);
        // S_cross = text / m = (0.6, 0.2, 0.1, 0.1) / 2
        assertArrayEquals(new float[] {0.3f, 0.1f, 0.05f, 0.05f}, s[1], 1e-6f);
        assertArrayEquals(new float[] {0.2f, 0.0875f, 0.05f, 0.0375f}, s[2], 1e-6f);
    }

    @Test
    void meanRuleKeepsTokensAboveFactorTimesTheMeanRedundancyScore() {
        // mean S_red = 0.09375: only token 0 is above it
        AtpSelector atp = new AtpSelector(new TreeSet<>(List.of(2)), new AtpThreshold.MeanFactor(1.0), 0);
        DecoderPruningSession s = atp.start(image);
        assertTrue(s.before(2).orElseThrow().textQueryRows());
        assertArrayEquals(new int[] {0}, s.afterLayer(backend, attention()));
        assertNull(s.traceStages().getFirst().budget(), "adaptive: no budget");
        assertArrayEquals(new int[] {4, 4, 4, 1}, s.visualTokensPerLayer(4));
    }

    @Test
    void spatialLatticeTokensSurviveRegardless() {
        // stride 2: cell (1, 1) (token 3, the lowest score) is on the lattice
        AtpSelector atp = new AtpSelector(new TreeSet<>(List.of(2)), new AtpThreshold.MeanFactor(1.0), 2);
        assertArrayEquals(new int[] {0, 3}, atp.start(image).afterLayer(backend, attention()));
    }

    @Test
    void learnedThresholdIsComparedOnTheMinMaxScale() {
        // theta = sigmoid(b) = 0.1 -> cutoff = 0.0375 + 0.1 * (0.2 - 0.0375) = 0.05375
        ThresholdMlp mlp = new ThresholdMlp(List.of(new ThresholdMlp.Dense(new double[][] {{0, 0}},
                new double[] {Math.log(0.1 / 0.9)})));
        AtpThreshold.Learned learned = new AtpThreshold.Learned(new TreeMap<>(java.util.Map.of(2, mlp)));
        AtpSelector atp = new AtpSelector(new TreeSet<>(List.of(2)), learned, 0);
        assertArrayEquals(new int[] {0, 1}, atp.start(image).afterLayer(backend, attention()));
    }

    @Test
    void mlpAppliesReluBetweenLayersAndSigmoidAtTheEnd() {
        ThresholdMlp mlp = new ThresholdMlp(List.of(
                new ThresholdMlp.Dense(new double[][] {{1, -1}, {0.5, 0.5}}, new double[] {0, -1}),
                new ThresholdMlp.Dense(new double[][] {{2, 1}}, new double[] {-1})));
        // hidden = relu(0.5, -0.25) = (0.5, 0); out = 2 * 0.5 - 1 = 0 -> sigmoid 0.5
        assertEquals(0.5, mlp.forward(1, 0.5), 1e-12);
        // hidden = relu(2, 1 - 1) = (2, 0); out = 4 + 0 - 1 = 3
        assertEquals(1 / (1 + Math.exp(-3)), mlp.forward(2, 0), 1e-12);
    }

    @Test
    void thresholdModulesLoadFromTheParameterFile(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("atp.json");
        Files.writeString(file, """
                {"format": "glimpse-atp-threshold/1",
                 "modules": [{"layer": 2, "layers": [{"weight": [[1, -1], [0.5, 0.5]], "bias": [0, -1]},
                                                      {"weight": [[2, 1]], "bias": [-1]}]}]}
                """);
        AtpThreshold.Learned learned = AtpThreshold.Learned.load(file);
        assertEquals(0.5, learned.modules().get(2).forward(1, 0.5), 1e-12);
    }

    @Test
    void aBadParameterFileNamesTheFileAndTheProblem(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("bad.json");
        Files.writeString(file, """
                {"format": "glimpse-atp-threshold/1", "modules": [{"layer": 2, "layers": [{"weight": [[1, 2, 3]], "bias": [0]}]}]}
                """);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AtpThreshold.Learned.load(file));
        assertTrue(e.getMessage().contains("bad.json") && e.getMessage().contains("2 inputs"), e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> AtpThreshold.Learned.parse(new ObjectMapper().readTree("{\"modules\": []}")));
    }
}
