package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the vision tower replayed from a CUDA graph ({@link TowerGraphs})
 * gives exactly the bits of the eager pass (every output: features, kept hidden states,
 * last_hidden_state, pooled, taps, probe attention) over several different pixel inputs, for tiny
 * random CLIP and SigLIP towers at F32, BF16 and F16 and batches of 1 and 2; requests it must not
 * replay (taps of host-indexed rows, pruning hooks, the property off) stay eager and right; graphs
 * evicted or freed leave every later call right; programmatic dependent launch of the tower's kernels
 * ({@code -Dglimpse.cuda.pdlPrefill=true}) changes no bit, eager or replayed.
 */
class CudaVisionGraphsTest {

    @RegisterExtension
    static final ClassCuda CUDA = new ClassCuda("CUDA vision graph tests");

    private static CudaBackend cuda() {
        return CUDA.backend();
    }

    @AfterEach
    void graphsBackOn() {
        System.clearProperty(TowerGraphs.PROPERTY);
    }

    /** A tiny random tower's weights on the GPU, and the same weights on the CPU backend. */
    private static final class DeviceTower implements AutoCloseable {
        final VisionConfig config;
        final Map<String, Tensor> host;
        final ResidentWeights store = new ResidentWeights(cuda());
        final VisionTransformer tower;
        final CpuBackend cpu = new CpuBackend();
        final VisionTransformer cpuTower;

        DeviceTower(String family, DType dtype) {
            config = family.equals("clip") ? TinyTower.CLIP : TinyTower.SIGLIP;
            host = RandomVisionWeights.generate(config, dtype, 42);
            VisionWeights weights = VisionWeights.of(host, config);
            tower = new VisionTransformer(cuda(), weights.on(store));
            cpuTower = new VisionTransformer(cpu, weights);
        }

        /** Random pixels [batch, 3, 32, 32] on the GPU. */
        Tensor pixels(int batch, long seed) {
            try (TinyTower source = new TinyTower(config); Tensor h = source.pixels(batch, seed)) {
                return cuda().upload(h);
            }
        }

        /** Random pixels [batch, 3, 32, 32] on the host. */
        Tensor hostPixels(int batch, long seed) {
            try (TinyTower source = new TinyTower(config)) {
                return source.pixels(batch, seed);
            }
        }

        @Override
        public void close() {
            tower.close();
            store.close();
            host.values().forEach(Tensor::close);
            cpu.close();
        }
    }

    /** Every output of one encode call, downloaded: name to raw float bits (and token indices). */
    private static Map<String, int[]> snapshot(VisionOutput out) {
        Map<String, int[]> s = new LinkedHashMap<>();
        put(s, "stacked", out.stackedFeatures());
        for (int b = 0; b < out.images().size(); b++) {
            EncodedImage img = out.image(b);
            String p = "image " + b + " ";
            put(s, p + "features", img.features());
            if (img.featureTokens() != null) {
                s.put(p + "featureTokens", img.featureTokens());
            }
            img.hiddenStates().forEach((i, t) -> put(s, p + "hidden " + i, t));
            img.hiddenStateTokens().forEach((i, t) -> s.put(p + "hiddenTokens " + i, t));
            put(s, p + "lastHiddenState", img.lastHiddenState());
            put(s, p + "pooled", img.pooled());
            put(s, p + "probe", img.probeAttention());
            img.taps().forEach((l, t) -> {
                put(s, p + "cls " + l, t.clsAttention());
                put(s, p + "mean " + l, t.meanAttentionReceived());
                put(s, p + "norms " + l, t.headOutputNorms());
                s.put(p + "tapTokens " + l, t.tokens());
            });
        }
        return s;
    }

    private static void put(Map<String, int[]> s, String name, Tensor t) {
        if (t == null) {
            return;
        }
        try (Tensor h = cuda().download(t)) {
            float[] v = h.toFloatArray();
            int[] bits = new int[v.length];
            for (int i = 0; i < v.length; i++) {
                bits[i] = Float.floatToRawIntBits(v[i]);
            }
            s.put(name + " " + java.util.Arrays.toString(t.shape()), bits);
        }
    }

    private static void assertSameBits(Map<String, int[]> expected, Map<String, int[]> actual, String what) {
        assertEquals(expected.keySet(), actual.keySet(), what + ": outputs");
        assertTrue(expected.size() > 0, what + ": no outputs compared");
        for (String name : expected.keySet()) {
            assertArrayEquals(expected.get(name), actual.get(name), what + ": " + name + " differs");
        }
    }

    /** The snapshot of {@code request} over {@code pixels} computed op by op, as a replay computes it. */
    private static Map<String, int[]> eager(VisionTransformer tower, Tensor pixels, VisionRequest request) {
        try (VisionOutput out = tower.encodeOpByOp(pixels, request)) {
            return snapshot(out);
        }
    }

    /** The snapshot with graphs off: the eager path as before graphs ([CLS] rows from the attention call's capture). */
    private static Map<String, int[]> graphsOff(VisionTransformer tower, Tensor pixels, VisionRequest request) {
        System.setProperty(TowerGraphs.PROPERTY, "false");
        try (VisionOutput out = tower.encode(pixels, request)) {
            return snapshot(out);
        } finally {
            System.clearProperty(TowerGraphs.PROPERTY);
        }
    }

    private static Map<String, int[]> encoded(VisionTransformer tower, Tensor pixels, VisionRequest request) {
        try (VisionOutput out = tower.encode(pixels, request)) {
            return snapshot(out);
        }
    }

    /** Everything both families can replay: features, kept states, last_hidden_state, pooled, mean attention and norms. */
    private static VisionRequest fullRequest(VisionConfig config) {
        FeatureSelection selection = config.hasClassToken() ? FeatureSelection.of(List.of(-2, 1), "default")
                : FeatureSelection.of(-1, "full");
        return VisionRequest.features(selection).withHiddenStates().withLastHiddenState().withPooled()
                .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED,
                        VisionTaps.Tap.HEAD_OUTPUT_NORMS), 0, 2));
    }

    @ParameterizedTest(name = "{0} {1}, batch {2}")
    @CsvSource({"clip, F32, 1", "clip, BF16, 1", "clip, BF16, 2", "clip, F16, 2", "siglip, F32, 2", "siglip, BF16, 1",
            "siglip, BF16, 2"})
    void replayedPassesGiveTheBitsOfEagerOnes(String family, DType dtype, int batch) {
        try (DeviceTower t = new DeviceTower(family, dtype)) {
            for (VisionRequest request : List.of(fullRequest(t.config), VisionRequest.features(FeatureSelection.llava15()))) {
                int capturesBefore = t.tower.graphCaptures();
                int replaysBefore = t.tower.graphReplays();
                for (int call = 0; call < 4; call++) {
                    try (Tensor pixels = t.pixels(batch, 100 + call)) {
                        Map<String, int[]> expected = eager(t.tower, pixels, request);
                        if (call == 0) {
                            assertSameBits(expected, eager(t.tower, pixels, request),
                                    "two eager passes (a difference here is the kernels', not the graphs')");
                        }
                        assertSameBits(expected, encoded(t.tower, pixels, request), family + " " + dtype + " call " + call);
                    }
                }
                assertEquals(1, t.tower.graphCaptures() - capturesBefore, "the second call captures, once");
                assertEquals(3, t.tower.graphReplays() - replaysBefore, "calls 2 to 4 replay");
            }
        }
    }

    /**
     * Programmatic dependent launch of the tower's small kernels ({@code -Dglimpse.cuda.pdlPrefill=true})
     * changes no bit of any output, op by op, captured or replayed: every call's reference is the op-by-op
     * pass with the property off; with it on, the first call of the request runs op by op, the second
     * captures (the property is part of the graph key) and the later ones replay.
     */
    @ParameterizedTest(name = "{0} {1}, batch {2}")
    @CsvSource({"clip, BF16, 1", "clip, BF16, 2", "clip, F32, 1", "siglip, BF16, 2"})
    void programmaticDependentLaunchChangesNoBitOfEagerOrReplayedPasses(String family, DType dtype, int batch) {
        try (DeviceTower t = new DeviceTower(family, dtype)) {
            VisionRequest request = fullRequest(t.config);
            int capturesBefore = t.tower.graphCaptures();
            int replaysBefore = t.tower.graphReplays();
            for (int call = 0; call < 4; call++) {
                try (Tensor pixels = t.pixels(batch, 500 + call)) {
                    Map<String, int[]> expected = eager(t.tower, pixels, request);
                    System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, "true");
                    try {
                        String what = family + " " + dtype + " batch " + batch + " call " + call + " with pdlPrefill";
                        assertSameBits(expected, eager(t.tower, pixels, request), what + ", op by op");
                        assertSameBits(expected, encoded(t.tower, pixels, request), what);
                    } finally {
                        System.clearProperty(CudaBackend.PDL_PREFILL_PROPERTY);
                    }
                }
            }
            assertEquals(1, t.tower.graphCaptures() - capturesBefore, "the second call captures, once");
            assertEquals(3, t.tower.graphReplays() - replaysBefore, "calls 2 to 4 replay");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"clip", "siglip"})
    void replayedF32FeaturesAgreeWithTheCpuBackend(String family) {
        try (DeviceTower t = new DeviceTower(family, DType.F32)) {
            VisionRequest request = fullRequest(t.config);
            for (int call = 0; call < 3; call++) {
                try (Tensor hostPixels = t.hostPixels(2, 300 + call);
                     Tensor pixels = cuda().upload(hostPixels);
                     VisionOutput gpu = t.tower.encode(pixels, request);
                     VisionOutput cpu = t.cpuTower.encode(hostPixels, request);
                     Tensor gpuFeatures = cuda().download(gpu.stackedFeatures());
                     Tensor gpuPooled = cuda().download(gpu.image(1).pooled())) {
                    double features = VisionFixture.maxAbsDiff(gpuFeatures, cpu.stackedFeatures());
                    double pooled = VisionFixture.maxAbsDiff(gpuPooled, cpu.image(1).pooled());
                    assertTrue(features < 2e-3 && pooled < 2e-3,
                            family + " call " + call + ": features differ from the CPU by " + features + ", pooled by " + pooled);
                }
            }
            assertEquals(2, t.tower.graphReplays());
        }
    }

    @Test
    void hostPixelsReplayToo() {
        try (DeviceTower t = new DeviceTower("clip", DType.BF16)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.llava15());
            for (int call = 0; call < 3; call++) {
                try (Tensor pixels = t.hostPixels(1, 700 + call)) {
                    assertSameBits(eager(t.tower, pixels, request), encoded(t.tower, pixels, request), "call " + call);
                }
            }
            assertEquals(2, t.tower.graphReplays());
        }
    }

    /** A request with [CLS] rows (CLIP, mean attention received at the same layers) or the probe row (SigLIP). */
    private static VisionRequest rowsRequest(VisionConfig config) {
        VisionRequest plain = VisionRequest.features(FeatureSelection.of(-2, "full"));
        return config.hasClassToken()
                ? plain.withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 1, 2)
                        .union(VisionTaps.of(EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED), 2)))
                : plain.withPooled().withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.PROBE_ATTENTION)));
    }

    @ParameterizedTest(name = "{0} {1}, batch {2}")
    @CsvSource({"clip, BF16, 1", "clip, F32, 2", "siglip, BF16, 2", "siglip, F16, 1"})
    void clsAndProbeAttentionRowsReplayBitForBit(String family, DType dtype, int batch) {
        try (DeviceTower t = new DeviceTower(family, dtype)) {
            VisionRequest request = rowsRequest(t.config);
            for (int call = 0; call < 4; call++) {
                try (Tensor pixels = t.pixels(batch, 400 + call)) {
                    Map<String, int[]> out = encoded(t.tower, pixels, request);
                    assertSameBits(eager(t.tower, pixels, request), out, family + " call " + call);
                    assertTrue(out.keySet().stream().anyMatch(k -> k.contains("cls") || k.contains("probe")),
                            "the attention rows were returned");
                }
            }
            assertEquals(1, t.tower.graphCaptures());
            assertEquals(3, t.tower.graphReplays());
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"clip", "siglip"})
    void rowsByProductsAgreeWithTheRowCaptureAndTheCpu(String family) {
        try (DeviceTower t = new DeviceTower(family, DType.F32)) {
            VisionRequest request = rowsRequest(t.config);
            for (int call = 0; call < 3; call++) {
                try (Tensor hostPixels = t.hostPixels(2, 450 + call); Tensor pixels = cuda().upload(hostPixels);
                     VisionOutput cpu = t.cpuTower.encode(hostPixels, request)) {
                    Map<String, int[]> replayed = encoded(t.tower, pixels, request);
                    Map<String, int[]> captured = graphsOff(t.tower, pixels, request);
                    assertEquals(captured.keySet(), replayed.keySet());
                    for (String name : captured.keySet()) {
                        boolean row = name.contains("cls") || name.contains("probe");
                        double diff = maxDiff(captured.get(name), replayed.get(name));
                        assertTrue(row ? diff < 1e-5 : diff == 0, family + " call " + call + ": " + name
                                + " differs from the row capture's pass by " + diff);
                    }
                    for (int b = 0; b < 2; b++) {
                        EncodedImage cpuImage = cpu.image(b);
                        Tensor expected = t.config.hasClassToken() ? cpuImage.taps().get(2).clsAttention()
                                : cpuImage.probeAttention();
                        String prefix = "image " + b + (t.config.hasClassToken() ? " cls 2 " : " probe ");
                        String name = replayed.keySet().stream().filter(k -> k.startsWith(prefix))
                                .findFirst().orElseThrow();
                        double diff = maxDiff(bits(expected), replayed.get(name));
                        assertTrue(diff < 1e-4, family + " image " + b + ": attention row differs from the CPU by " + diff);
                    }
                }
            }
            assertEquals(2, t.tower.graphReplays());
        }
    }

    private static int[] bits(Tensor hostTensor) {
        float[] v = hostTensor.toFloatArray();
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Float.floatToRawIntBits(v[i]);
        }
        return out;
    }

    private static double maxDiff(int[] a, int[] b) {
        assertEquals(a.length, b.length, "lengths");
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) Float.intBitsToFloat(a[i]) - Float.intBitsToFloat(b[i]));
            max = Math.max(max, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
        }
        return max;
    }

    @Test
    void withThePropertyOffNothingIsCaptured() {
        try (DeviceTower t = new DeviceTower("clip", DType.BF16)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.llava15());
            System.setProperty(TowerGraphs.PROPERTY, "false");
            for (int call = 0; call < 3; call++) {
                try (Tensor pixels = t.pixels(1, 500 + call); VisionOutput out = t.tower.encode(pixels, request)) {
                    assertEquals(t.config.numPatches(), out.image(0).features().dim(0), "CLS dropped");
                }
            }
            assertEquals(0, t.tower.graphCaptures());
            assertEquals(0, t.tower.graphReplays());
        }
    }

    @Test
    void requestsWithAPruningHookStayEagerAndRight() {
        BlockPruningHook everyOther = block -> block.layer() != 1 ? KeepSet.all()
                : KeepSet.rows(IntStream.range(0, block.tokens().length).filter(r -> r % 2 == 1).toArray());
        try (DeviceTower t = new DeviceTower("clip", DType.BF16)) {
            VisionRequest hooked = VisionRequest.features(FeatureSelection.llava15()).withPooled().withPruning(everyOther);
            for (int call = 0; call < 3; call++) {
                try (Tensor pixels = t.pixels(2, 600 + call)) {
                    Map<String, int[]> out = encoded(t.tower, pixels, hooked);
                    assertSameBits(eager(t.tower, pixels, hooked), out, "hooked call " + call);
                    assertEquals(8, out.get("image 0 featureTokens").length, "half of 16 patches kept");
                }
            }
            assertEquals(0, t.tower.graphCaptures());
        }
    }

    @Test
    void aReplayLeavesEarlierResultsAlone() {
        try (DeviceTower t = new DeviceTower("siglip", DType.BF16)) {
            VisionRequest request = fullRequest(t.config);
            List<Tensor> inputs = new ArrayList<>();
            List<VisionOutput> held = new ArrayList<>();
            try {
                for (int call = 0; call < 4; call++) {
                    inputs.add(t.pixels(1, 800 + call));
                    held.add(t.tower.encode(inputs.getLast(), request));
                }
                for (int call = 0; call < 4; call++) {
                    assertSameBits(eager(t.tower, inputs.get(call), request), snapshot(held.get(call)), "held call " + call);
                }
            } finally {
                held.forEach(VisionOutput::close);
                inputs.forEach(Tensor::close);
            }
            assertEquals(3, t.tower.graphReplays());
        }
    }

    @Test
    void evictedAndFreedGraphsLeaveLaterCallsRight() {
        try (DeviceTower t = new DeviceTower("clip", DType.BF16)) {
            List<Supplier<VisionRequest>> requests = List.of(
                    () -> VisionRequest.features(FeatureSelection.llava15()),
                    () -> VisionRequest.features(FeatureSelection.of(-1, "full")),
                    () -> VisionRequest.features(FeatureSelection.of(1, "default")),
                    () -> VisionRequest.lastHiddenStateAndPooled(),
                    () -> VisionRequest.features(FeatureSelection.llava15()).withPooled());
            assertTrue(requests.size() > TowerGraphs.CAPACITY);
            for (int round = 0; round < 3; round++) {
                for (int r = 0; r < requests.size(); r++) {
                    try (Tensor pixels = t.pixels(1, 900 + 10L * round + r)) {
                        VisionRequest request = requests.get(r).get();
                        assertSameBits(eager(t.tower, pixels, request), encoded(t.tower, pixels, request),
                                "round " + round + " request " + r);
                    }
                }
            }
            assertEquals(requests.size(), t.tower.graphCaptures(), "round 2 captured each once");
            long beforeClose = cuda().bytesInUse();
            t.tower.close();
            assertTrue(cuda().bytesInUse() < beforeClose, "closing the tower freed the graphs' buffers");
            VisionRequest request = requests.getFirst().get();
            for (int call = 0; call < 3; call++) {
                try (Tensor pixels = t.pixels(1, 990 + call)) {
                    assertSameBits(eager(t.tower, pixels, request), encoded(t.tower, pixels, request), "after close " + call);
                }
            }
            assertEquals(requests.size() + 1, t.tower.graphCaptures(), "a closed tower captures again");
        }
    }

    @Test
    void batchesOfOtherSizesGetGraphsOfTheirOwn() {
        try (DeviceTower t = new DeviceTower("clip", DType.BF16)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.llava15()).withLastHiddenState();
            for (int call = 0; call < 3; call++) {
                for (int batch : new int[] {1, 3}) {
                    try (Tensor pixels = t.pixels(batch, 1000 + 10L * call + batch)) {
                        assertSameBits(eager(t.tower, pixels, request), encoded(t.tower, pixels, request),
                                "batch " + batch + " call " + call);
                    }
                }
            }
            assertEquals(2, t.tower.graphCaptures());
            assertEquals(2 * 2, t.tower.graphReplays());
        }
    }
}
