package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.NormRowsVariant;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GPU-only (skipped without CUDA): the vision tower with its LayerNorms on the staged row kernels
 * ({@code -Dglimpse.cuda.normRows=staged}, {@link NormRowsVariant#STAGED}), and under {@code auto}, gives the stacked
 * features of the {@code v4} kernels bit for bit, on the third call (eager, capture, replay: the replayed graph holds
 * the variant it was captured with). Random 3-layer towers at the real token counts: CLIP-L/336's 577 tokens (hidden
 * 128: one float4 per thread) and SigLIP so400m's 729 (hidden 144); batch 1 (LLaVA-1.5's one image) and 2 (the
 * token-major layer_norm1, {@code layer_norm_rows_staged_<VPT>_token_major}).
 */
class CudaTowerNormRowsTest {

    @RegisterExtension
    static final ClassCuda CUDA = new ClassCuda("CUDA tower norm rows tests");

    @ParameterizedTest(name = "{0} {1} batch={2}")
    @CsvSource({"clip, BF16, 1", "clip, F16, 2", "clip, F32, 1", "siglip, BF16, 1", "siglip, BF16, 2"})
    void stagedNormsGiveTheV4TowersBits(String family, DType dtype, int batch) {
        VisionConfig config = family.equals("clip")
                ? new VisionConfig(VisionConfig.CLIP, 128, 512, 3, 2, 3, 336, 14, "quick_gelu", 1e-5, OptionalInt.of(64), false)
                : new VisionConfig(VisionConfig.SIGLIP, 144, 576, 3, 2, 3, 378, 14, "gelu_pytorch_tanh", 1e-6,
                OptionalInt.empty(), false);
        VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full"));
        Map<String, Tensor> host = RandomVisionWeights.generate(config, dtype, 19);
        String label = family + " " + dtype + " batch " + batch;
        try (ResidentWeights store = new ResidentWeights(CUDA.backend());
             Tensor hostPixels = RandomVisionWeights.pixels(batch, config); Tensor pixels = CUDA.backend().upload(hostPixels)) {
            VisionWeights onDevice = VisionWeights.of(host, config).on(store);
            int[] v4 = thirdCall(onDevice, pixels, request, NormRowsVariant.V4);
            for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.STAGED, NormRowsVariant.AUTO}) {
                assertArrayEquals(v4, thirdCall(onDevice, pixels, request, variant),
                        label + ": stacked features, " + variant.id() + " vs v4 norms");
            }
        } finally {
            host.values().forEach(Tensor::close);
        }
    }

    /** The raw bits of the stacked features of the third call (eager, capture, replay) of a fresh tower. */
    private static int[] thirdCall(VisionWeights weights, Tensor pixels, VisionRequest request, NormRowsVariant variant) {
        String previous = System.getProperty(NormRowsVariant.PROPERTY);
        System.setProperty(NormRowsVariant.PROPERTY, variant.id());
        try (VisionTransformer tower = new VisionTransformer(CUDA.backend(), weights)) {
            tower.encode(pixels, request).close();
            tower.encode(pixels, request).close();
            try (VisionOutput out = tower.encode(pixels, request); Tensor h = CUDA.backend().download(out.stackedFeatures())) {
                assertTrue(tower.graphReplays() > 0, "the third call is replayed from a CUDA graph");
                float[] v = h.toFloatArray();
                int[] bits = new int[v.length];
                for (int i = 0; i < v.length; i++) {
                    bits[i] = Float.floatToRawIntBits(v[i]);
                }
                return bits;
            }
        } finally {
            if (previous == null) {
                System.clearProperty(NormRowsVariant.PROPERTY);
            } else {
                System.setProperty(NormRowsVariant.PROPERTY, previous);
            }
        }
    }
}
