package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;

import static dev.glimpse.visionencoder.VisionFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CLIP and SigLIP towers match Hugging Face transformers on the fixtures: every hidden state,
 * last_hidden_state, pooler_output, LLaVA feature selections and every attention tap, each within
 * 1e-4 (f32). The largest difference per array is logged at INFO when the class finishes
 * ({@code -Dorg.slf4j.simpleLogger.log.dev.glimpse.visionencoder.VisionParityTest=info}).
 */
class VisionParityTest {

    private static final double TOLERANCE = 1e-4;
    private static final Logger LOG = LoggerFactory.getLogger(VisionParityTest.class);

    private static VisionFixture clip;
    private static VisionFixture siglip;

    @BeforeAll
    static void open() {
        clip = new VisionFixture("clip-vision");
        siglip = new VisionFixture("siglip-vision");
    }

    @AfterAll
    static void close() {
        clip.close();
        siglip.close();
        WORST.forEach((what, diff) -> LOG.info("parity {}: max abs diff {}", what, String.format(Locale.ROOT, "%.2e", diff)));
    }

    /** Largest difference seen per array (indices stripped), reported after all tests. */
    private static final Map<String, Double> WORST = new TreeMap<>();

    private static void assertClose(String what, Tensor actual, Tensor expected) {
        double diff = maxAbsDiff(actual, expected);
        WORST.merge(what.replaceAll("\\[[0-9]+]", ""), diff, Math::max);
        assertTrue(diff <= TOLERANCE, what + ": max abs diff " + diff + " > " + TOLERANCE);
    }

    private static VisionRequest everything(VisionFixture f, boolean cls) {
        int layers = f.config.numHiddenLayers();
        List<Integer> all = IntStream.rangeClosed(0, layers).boxed().toList();
        EnumSet<VisionTaps.Tap> kinds = EnumSet.of(VisionTaps.Tap.MEAN_ATTENTION_RECEIVED, VisionTaps.Tap.HEAD_OUTPUT_NORMS);
        kinds.add(cls ? VisionTaps.Tap.CLS_ATTENTION : VisionTaps.Tap.PROBE_ATTENTION);
        return VisionRequest.features(FeatureSelection.of(all, "full")).withHiddenStates().withLastHiddenState()
                .withPooled().withTaps(VisionTaps.allLayers(layers, kinds));
    }

    private static void assertHiddenStatesAndOutputs(String name, VisionFixture f, VisionOutput out) {
        Tensor hidden = f.expected("hidden_states");
        for (int b = 0; b < hidden.dim(1); b++) {
            EncodedImage image = out.image(b);
            for (int i = 0; i < hidden.dim(0); i++) {
                assertClose(name + " hidden_states[" + i + "][" + b + "]", image.hiddenStates().get(i), hidden.select(0, i).select(0, b));
            }
            assertClose(name + " last_hidden_state[" + b + "]", image.lastHiddenState(), f.expected("last_hidden_state").select(0, b));
            assertClose(name + " pooler_output[" + b + "]", image.pooled(), f.expected("pooler_output").select(0, b));
        }
    }

    private static void assertLayerTaps(String name, VisionFixture f, VisionOutput out, boolean cls) {
        for (int b = 0; b < 2; b++) {
            for (int l = 0; l < f.config.numHiddenLayers(); l++) {
                LayerTaps taps = out.image(b).taps().get(l);
                String at = "[" + l + "][" + b + "]";
                if (cls) {
                    assertClose(name + " cls_attention" + at, taps.clsAttention(), f.expected("cls_attention").select(0, l).select(0, b));
                }
                assertClose(name + " attention_received_mean" + at, VisionFixture.headMean(taps.meanAttentionReceived()),
                        f.expected("attention_received_mean").select(0, l).select(0, b));
                assertClose(name + " head_output_norms" + at, taps.headOutputNorms(),
                        f.expected("head_output_norms").select(0, l).select(0, b));
            }
        }
    }

    @Test
    void clipHiddenStatesLastHiddenStateAndPoolerMatchTransformers() {
        try (VisionOutput out = clip.encoder.encode(clip.pixels(), everything(clip, true))) {
            assertHiddenStatesAndOutputs("clip", clip, out);
        }
    }

    @Test
    void clipClsAttentionMeanAttentionAndHeadNormsMatchTransformers() {
        try (VisionOutput out = clip.encoder.encode(clip.pixels(), everything(clip, true))) {
            assertLayerTaps("clip", clip, out, true);
        }
    }

    @Test
    void siglipHiddenStatesLastHiddenStateAndPoolingHeadMatchTransformers() {
        try (VisionOutput out = siglip.encoder.encode(siglip.pixels(), everything(siglip, false))) {
            assertHiddenStatesAndOutputs("siglip", siglip, out);
        }
    }

    @Test
    void siglipProbeAttentionMeanAttentionAndHeadNormsMatchTransformers() {
        try (VisionOutput out = siglip.encoder.encode(siglip.pixels(), everything(siglip, false))) {
            assertLayerTaps("siglip", siglip, out, false);
            for (int b = 0; b < 2; b++) {
                assertClose("siglip probe_attention[" + b + "]", out.image(b).probeAttention(),
                        siglip.expected("probe_attention").select(0, b));
            }
        }
    }

    @Test
    void llavaDefaultSelectionIsPenultimateLayerWithoutClsToken() {
        try (VisionOutput out = clip.encoder.encode(clip.pixels(), VisionRequest.features(FeatureSelection.llava15()))) {
            Tensor penultimate = clip.expected("hidden_states").select(0, clip.config.numHiddenLayers() - 1);
            int n = penultimate.dim(1);
            assertClose("clip llava -2 default", out.stackedFeatures(), penultimate.slice(1, 1, n));
            assertArrayEquals(IntStream.range(1, n).toArray(), out.image(0).featureTokens());
        }
    }

    @Test
    void layerListIsConcatenatedOnTheFeatureDimInListOrder() {
        FeatureSelection selection = FeatureSelection.of(List.of(-1, 1), "full");
        try (VisionOutput out = siglip.encoder.encode(siglip.pixels(), VisionRequest.features(selection))) {
            Tensor hidden = siglip.expected("hidden_states");
            int d = siglip.config.hiddenSize();
            Tensor features = out.stackedFeatures();
            assertClose("siglip [-1, 1] full, part -1", features.slice(2, 0, d), hidden.select(0, hidden.dim(0) - 1));
            assertClose("siglip [-1, 1] full, part 1", features.slice(2, d, 2 * d), hidden.select(0, 1));
        }
    }
}
