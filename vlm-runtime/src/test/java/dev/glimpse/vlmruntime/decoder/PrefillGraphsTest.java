package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The host side of decoder prefill graphs ({@link PrefillGraphs}): which prefills a graph may hold,
 * what splits their keys, the cache bookkeeping a replay and a failed capture need, which rows a key
 * runs op by op (padded on its first call, exact once its graph failed), and that the
 * property leaves the CPU backend's prefill as it was. The replays themselves are checked on the
 * GPU ({@code CudaPrefillGraphsTest}).
 */
class PrefillGraphsTest {

    private static final int[] EVEN = {0, 0, 0};

    @AfterEach
    void clearProperty() {
        System.clearProperty(PrefillGraphs.PROPERTY);
    }

    @Test
    void autoGraphsShortPrefillsAndTheSwitchOverridesIt() {
        assertTrue(PrefillGraphs.enabled(74));
        assertTrue(PrefillGraphs.enabled(PrefillGraphs.AUTO_MAX_ROWS));
        assertFalse(PrefillGraphs.enabled(PrefillGraphs.AUTO_MAX_ROWS + 1));
        System.setProperty(PrefillGraphs.PROPERTY, "TRUE");
        assertTrue(PrefillGraphs.enabled(6296));
        System.setProperty(PrefillGraphs.PROPERTY, "false");
        assertFalse(PrefillGraphs.enabled(74));
        System.setProperty(PrefillGraphs.PROPERTY, "sometimes");
        assertThrows(IllegalArgumentException.class, () -> PrefillGraphs.enabled(74));
    }

    @Test
    void aHooklessSingleChunkCudaPrefillMayReplay() {
        assertNull(PrefillGraphs.opByOpReason(true, null, 74, 74, EVEN, false, false));
        assertNull(PrefillGraphs.opByOpReason(true, null, 1, 256, new int[] {9, 9}, false, false));
    }

    @Test
    void everyHostDecisionInsideThePrefillKeepsItOpByOp() {
        PruningHook keepAll = PrefillGraphProbe.keepAllHook();
        assertNotNull(PrefillGraphs.opByOpReason(false, null, 74, 256, EVEN, false, false), "CPU backend");
        assertNotNull(PrefillGraphs.opByOpReason(true, keepAll, 74, 256, EVEN, false, false), "pruning hook");
        assertNotNull(PrefillGraphs.opByOpReason(true, null, 257, 256, EVEN, false, false), "two chunks");
        assertNotNull(PrefillGraphs.opByOpReason(true, null, 74, 256, new int[] {5, 3, 3}, false, false), "uneven cache");
        assertNotNull(PrefillGraphs.opByOpReason(true, null, 74, 256, EVEN, true, false), "pruned heads");
        assertNotNull(PrefillGraphs.opByOpReason(true, null, 74, 256, EVEN, false, true), "shifted positions");
    }

    @Test
    void rowsStartLogitsAndCudaSettingsSplitKeysButTheGraphSwitchDoesNot() {
        Properties p = new Properties();
        p.setProperty("glimpse.cuda.prefillFusion", "true");
        p.setProperty("user.name", "someone");
        PrefillGraphKey base = PrefillGraphKey.of(74, 0, false, p);
        assertEquals("glimpse.cuda.prefillFusion=true", base.launchSettings());
        p.setProperty(PrefillGraphs.PROPERTY, "true");
        assertEquals(base, PrefillGraphKey.of(74, 0, false, p));
        assertNotEquals(base, PrefillGraphKey.of(75, 0, false, p));
        assertNotEquals(base, PrefillGraphKey.of(74, 5, false, p));
        assertNotEquals(base, PrefillGraphKey.of(74, 0, true, p));
        p.setProperty("glimpse.cuda.prefillFusion", "false");
        assertNotEquals(base, PrefillGraphKey.of(74, 0, false, p));
    }

    @Test
    void aPaddedKeysFirstCallRunsItsPaddedRowsAndOnceKeptOpByOpTheExactRows() {
        PrefillGraphKey padded = PrefillGraphKey.of(80, 0, true, new Properties());
        try (PrefillGraphs graphs = new PrefillGraphs()) {
            PrefillGraphs.Outcome first = graphs.run(null, padded, 8, 2, null, null, null);
            assertInstanceOf(PrefillGraphs.Outcome.FirstCall.class, first);
            assertEquals(80, first.opByOpRows(padded, 74), "first call: the padded rows, measuring the capture's shapes");
            graphs.ranOpByOp(padded);
            graphs.keepOpByOp(padded);
            for (int call = 0; call < 2; call++) {
                PrefillGraphs.Outcome kept = graphs.run(null, padded, 8, 2, null, null, null);
                assertInstanceOf(PrefillGraphs.Outcome.KeptOpByOp.class, kept);
                assertEquals(74, kept.opByOpRows(padded, 74), "after a failed capture: the exact rows, call " + call);
                graphs.ranOpByOp(padded);
            }
            assertThrows(IllegalStateException.class, () -> new PrefillGraphs.Outcome.Ran(null).opByOpRows(padded, 74));
        }
    }

    @Test
    void aReplayRecordsItsAppendsAndAFailedCaptureRestoresTheLengths() {
        try (CpuBackend backend = new CpuBackend();
             KvCache cache = new KvCache(backend, 2, 1, 4, 8, DType.F32)) {
            int[] before = cache.lengths();
            cache.recordAppended(0, new int[] {7, 8, 9}, 1, 2);
            cache.recordAppended(1, new int[] {7, 8, 9}, 0, 3);
            assertArrayEquals(new int[] {2, 3}, cache.lengths());
            assertArrayEquals(new int[] {8, 9}, cache.tokens(0));
            assertThrows(IllegalStateException.class, () -> cache.recordAppended(1, new int[6], 0, 6));
            cache.restoreLengths(before);
            assertArrayEquals(new int[] {0, 0}, cache.lengths());
        }
    }

    @Test
    void onTheCpuTheSwitchLeavesThePrefillOpByOpAndItsLogitsAsTheyWere() {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            float[] off = prefillLogits(f);
            System.setProperty(PrefillGraphs.PROPERTY, "true");
            for (int request = 0; request < 3; request++) {
                assertArrayEquals(off, prefillLogits(f), "request " + request);
            }
        }
    }

    private static float[] prefillLogits(DecoderFixture f) {
        try (DecoderSession s = f.decoder().newSession(SessionOptions.of(64))) {
            s.prefill(f.inputIds());
            float[] logits = new float[f.decoder().config().vocabSize()];
            s.copyLogits(logits);
            assertEquals(f.inputIds().length, s.length());
            return logits;
        }
    }
}
