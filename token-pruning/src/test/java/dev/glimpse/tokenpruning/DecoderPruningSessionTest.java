package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static dev.glimpse.tokenpruning.DecoderFixtures.columns;
import static dev.glimpse.tokenpruning.DecoderFixtures.lastRow;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DecoderPruningSessionTest {

    private final CpuBackend backend = new CpuBackend();

    @Test
    void visualTokensOfSeveralFramesKeepTheirOrigins() {
        // frame 0 kept cells 1 and 3 of a 2 x 2 grid; frame 5 kept cell 0 of a 1 x 2 grid
        List<TokenSelection> frames = List.of(new TokenSelection(0, new TokenGrid(2, 2), new int[] {1, 3}, null),
                new TokenSelection(5, new TokenGrid(1, 2), new int[] {0}, null));
        DecoderPruningSession s = FastVSelector.withRatio(1, 1.0 / 3).start(frames);
        assertEquals(3, s.initialVisualTokens());
        assertArrayEquals(new int[] {0, 2}, s.afterLayer(backend, lastRow(0, new float[][] {{0.5f, 0.1f, 0.4f}})));
        assertEquals(List.of(new TokenOrigin(0, 0, 1), new TokenOrigin(5, 0, 0)), s.origins());
        List<PruningTrace.FrameTrace> traced = s.traceStages().getFirst().frames();
        assertEquals(List.of(new PruningTrace.Cell(0, 1)), traced.get(0).kept());
        assertEquals(List.of(new PruningTrace.Cell(0, 0)), traced.get(1).kept());
        assertEquals(5, traced.get(1).frame());
        // scores land on the original grid; cells that never entered the decoder are null
        assertEquals(java.util.Arrays.asList(null, 0.5f, null, 0.1f), traced.get(0).scores());
    }

    @Test
    void layersMustComeInIncreasingOrder() {
        SpAttenCascade c = new SpAttenCascade(new TreeMap<>(Map.of(3, 0.5)), new TreeMap<>());
        DecoderPruningSession s = c.start(List.of(TokenSelection.all(0, new TokenGrid(1, 2))));
        s.afterLayer(backend, columns(1, new float[][] {{1, 2}}));
        assertThrows(IllegalStateException.class, () -> s.afterLayer(backend, columns(1, new float[][] {{1, 2}})));
    }

    @Test
    void aTensorOfTheWrongWidthIsRejected() {
        DecoderPruningSession s = FastVSelector.defaults().start(List.of(TokenSelection.all(0, new TokenGrid(1, 4))));
        assertThrows(IllegalArgumentException.class, () -> s.afterLayer(backend, lastRow(1, new float[][] {{1, 2}})));
    }
}
