package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the tower's query attention rows in one launch per tapped layer
 * ({@code -Dglimpse.cuda.vtcFused=true}, {@link CudaBackend#queryAttentionRow}) against the default's
 * cuBLAS batched GEMM and softmax, on the third (graph-replayed) call of a fresh tower each way. A
 * random 24-layer CLIP tower at CLIP-L/336's 577 tokens (head dim 64) with VTC-CLS's taps (the [CLS]
 * rows of layers 16..22): the features are the same bits (the rows only read q and k), every [CLS] row
 * agrees element by element to {@value #RELATIVE} relative, the VTC-CLS scores
 * ({@link dev.glimpse.kernels.Backend#attentionRowScores} over layers 16..22, as the selector sums them)
 * agree to the same, and top-k keeps exactly the same tokens at LLaVA's budgets (64, 144, 192, 288
 * and a single token). A random SigLIP tower's probe row (head dim 72, 729 tokens) agrees likewise. The
 * property also hands a replay's outputs out of one block ({@link OutputBlock}): a batch of two asking
 * for hidden states, the last hidden state, the pooled vector and [CLS] rows gets every one of them.
 */
class CudaVtcFusedTest {

    /**
     * Per element |fused - default| <= RELATIVE * |default| + 1e-12: a probability's relative error is its logit's
     * absolute one, F32 rounding of a dot product, which grows with scale * sum_d |q_d k_d| (tens for real heads).
     */
    private static final double RELATIVE = 1e-4;
    private static final int[] VTC_LAYERS = IntStream.rangeClosed(16, 22).toArray();

    @RegisterExtension
    static final ClassCuda CUDA = new ClassCuda("CUDA fused VTC-CLS row tests");

    private static CudaBackend cuda() {
        return CUDA.backend();
    }

    @AfterEach
    void clearProperty() {
        System.clearProperty(CudaBackend.VTC_FUSED_PROPERTY);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16"})
    void fusedRowsKeepTheDefaultTowersTokensAndFeatures(DType dtype) {
        VisionConfig config = new VisionConfig(VisionConfig.CLIP, 512, 1024, 24, 8, 3, 336, 14, "quick_gelu", 1e-5,
                OptionalInt.of(64), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-2, "default"))
                .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), VTC_LAYERS));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, dtype, 23);
        try (ResidentWeights store = new ResidentWeights(cuda()); Tensor hostPixels = RandomVisionWeights.pixels(1, config);
             Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(host, config).on(store);
            Pass off = thirdCall(weights, pixels, request, "false");
            Pass on = thirdCall(weights, pixels, request, "true");
            String label = "clip 24 layers " + dtype;
            assertArrayEquals(off.features(), on.features(), 0f, label + ": features");
            for (int l = 0; l < VTC_LAYERS.length; l++) {
                assertRelative(label + " [CLS] row layer " + VTC_LAYERS[l], off.rows().get(l), on.rows().get(l));
            }
            assertRelative(label + " VTC-CLS scores", off.scores(), on.scores());
            for (int budget : new int[] {1, 64, 144, 192, 288}) {
                int[] keptOff = topIndices(off.scores(), budget);
                int[] keptOn = topIndices(on.scores(), budget);
                assertArrayEquals(keptOff, keptOn, label + " budget " + budget + ": kept tokens (gap at the budget "
                        + gap(off.scores(), budget) + ")");
                System.out.println("PARITY vtc fused kept tokens " + label + " budget " + budget + " exact");
            }
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    @Test
    void aBatchWithHiddenStatesGetsEveryOutputOfTheDefault() {
        VisionConfig config = new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 336, 14, "quick_gelu", 1e-5,
                OptionalInt.of(64), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(List.of(-3, -1), "full")).withHiddenStates()
                .withLastHiddenState().withPooled()
                .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), 0, 2));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, DType.BF16, 31);
        try (ResidentWeights store = new ResidentWeights(cuda()); Tensor hostPixels = RandomVisionWeights.pixels(2, config);
             Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(host, config).on(store);
            List<Map<String, float[]>> passes = new ArrayList<>();
            for (String fused : new String[] {"false", "true"}) {
                System.setProperty(CudaBackend.VTC_FUSED_PROPERTY, fused);
                try (VisionTransformer tower = new VisionTransformer(cuda(), weights)) {
                    tower.encode(pixels, request).close();
                    tower.encode(pixels, request).close();
                    try (VisionOutput out = tower.encode(pixels, request)) {
                        assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                        passes.add(outputs(out));
                    }
                }
            }
            Map<String, float[]> off = passes.get(0);
            Map<String, float[]> on = passes.get(1);
            assertEquals(off.keySet(), on.keySet(), "outputs");
            for (String name : off.keySet()) {
                if (name.contains(" cls ")) {
                    assertRelative("batch 2 " + name, off.get(name), on.get(name));
                } else {
                    assertArrayEquals(off.get(name), on.get(name), 0f, "batch 2 " + name);
                }
            }
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    /** Every tensor of a pass by name: stacked features, and per image features, hidden states, last, pooled, taps. */
    private static Map<String, float[]> outputs(VisionOutput out) {
        Map<String, float[]> all = new LinkedHashMap<>();
        all.put("stacked", values(out.stackedFeatures()));
        for (int b = 0; b < out.images().size(); b++) {
            EncodedImage image = out.image(b);
            String prefix = "image " + b;
            all.put(prefix + " features", values(image.features()));
            image.hiddenStates().forEach((l, t) -> all.put(prefix + " hidden " + l, values(t)));
            all.put(prefix + " last", values(image.lastHiddenState()));
            all.put(prefix + " pooled", values(image.pooled()));
            image.taps().forEach((l, t) -> all.put(prefix + " cls " + l, values(t.clsAttention())));
        }
        return all;
    }

    @Test
    void fusedProbeRowMatchesTheDefault() {
        VisionConfig config = new VisionConfig(VisionConfig.SIGLIP, 144, 576, 3, 2, 3, 378, 14, "gelu_pytorch_tanh",
                1e-6, OptionalInt.empty(), true);
        VisionRequest request = VisionRequest.lastHiddenStateAndPooled()
                .withTaps(VisionTaps.of(EnumSet.of(VisionTaps.Tap.PROBE_ATTENTION)));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, DType.BF16, 29);
        try (ResidentWeights store = new ResidentWeights(cuda()); Tensor hostPixels = RandomVisionWeights.pixels(1, config);
             Tensor pixels = cuda().upload(hostPixels)) {
            VisionWeights weights = VisionWeights.of(host, config).on(store);
            float[][] rows = new float[2][];
            for (int i = 0; i < 2; i++) {
                System.setProperty(CudaBackend.VTC_FUSED_PROPERTY, i == 0 ? "false" : "true");
                try (VisionTransformer tower = new VisionTransformer(cuda(), weights)) {
                    tower.encode(pixels, request).close();
                    tower.encode(pixels, request).close();
                    try (VisionOutput out = tower.encode(pixels, request)) {
                        assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                        rows[i] = values(out.image(0).probeAttention());
                    }
                }
            }
            assertRelative("siglip probe row", rows[0], rows[1]);
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    /** What one property setting gives: features, the [CLS] rows of {@link #VTC_LAYERS} and their scores. */
    private record Pass(float[] features, List<float[]> rows, float[] scores) {
    }

    private static Pass thirdCall(VisionWeights weights, Tensor pixels, VisionRequest request, String fused) {
        System.setProperty(CudaBackend.VTC_FUSED_PROPERTY, fused);
        try (VisionTransformer tower = new VisionTransformer(cuda(), weights)) {
            tower.encode(pixels, request).close();
            tower.encode(pixels, request).close();
            try (VisionOutput out = tower.encode(pixels, request)) {
                assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                EncodedImage image = out.image(0);
                List<Tensor> layers = new ArrayList<>();
                List<float[]> rows = new ArrayList<>();
                for (int l : VTC_LAYERS) {
                    Tensor t = image.taps().get(l).clsAttention();
                    layers.add(t);
                    rows.add(values(t));
                }
                int patches = layers.get(0).dim(1) - 1;
                try (Tensor scores = cuda().allocate(DType.F32, 1, patches)) {
                    cuda().attentionRowScores(layers, 1, scores);
                    return new Pass(values(image.features()), rows, values(scores));
                }
            }
        }
    }

    /** The backend's top-k of {@code scores} in index order, as the VTC-CLS selector keeps them. */
    private static int[] topIndices(float[] scores, int k) {
        try (Tensor host = Tensor.of(scores, 1, scores.length); Tensor device = cuda().upload(host);
             TopK top = cuda().topK(device, k, TopK.Order.BY_INDEX); Tensor indices = cuda().download(top.indices())) {
            return indices.toIntArray();
        }
    }

    /** The k-th largest score less the (k+1)-th, relative to the k-th: how near a tie the budget cuts. */
    private static String gap(float[] scores, int k) {
        float[] sorted = scores.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        if (k >= n) {
            return "none";
        }
        return String.format(Locale.ROOT, "%.3e", (sorted[n - k] - sorted[n - k - 1]) / Math.abs(sorted[n - k]));
    }

    private static float[] values(Tensor t) {
        try (Tensor h = cuda().download(t)) {
            return h.toFloatArray();
        }
    }

    private static void assertRelative(String label, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, label + ": sizes differ");
        double worst = 0;
        int at = 0;
        for (int i = 0; i < expected.length; i++) {
            double e = Math.abs((double) expected[i] - actual[i]);
            double ratio = Float.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : e / (Math.abs(expected[i]) + 1e-12 / RELATIVE);
            if (ratio > worst) {
                worst = ratio;
                at = i;
            }
        }
        System.out.println(String.format(Locale.ROOT, "PARITY %-56s maxRelErr=%.3e tol=%.1e", label, worst, RELATIVE));
        int w = at;
        double finalWorst = worst;
        assertTrue(worst <= RELATIVE, () -> label + ": relative error " + finalWorst + " at " + w + " (default "
                + expected[w] + ", fused " + actual[w] + ")");
    }
}
