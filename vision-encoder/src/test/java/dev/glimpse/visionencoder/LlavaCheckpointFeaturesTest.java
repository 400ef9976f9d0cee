package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Inside a LLaVA checkpoint (weights under {@code vision_tower.}), the tower selected by the
 * config's {@code vision_feature_layer} / {@code vision_feature_select_strategy} yields the features
 * HF fed its projector: pushed through the projector weights here (linear_1, gelu, linear_2),
 * they match {@code case*.projector_output} of the LLaVA fixtures within 1e-4.
 */
class LlavaCheckpointFeaturesTest {

    private static final Logger LOG = LoggerFactory.getLogger(LlavaCheckpointFeaturesTest.class);

    @ParameterizedTest
    @CsvSource({"llava-clip-llama, 3", "llava-siglip-qwen2, 2"})
    void selectedFeaturesThroughTheProjectorMatchTransformers(String name, int cases) {
        Path folder = Path.of(System.getProperty("glimpse.fixtures", "../fixtures")).resolve(name);
        HfJson config = HfJson.read(folder.resolve("config.json"));
        VisionConfig vision = VisionConfig.load(folder.resolve("config.json"));
        FeatureSelection selection = FeatureSelection.of(config.intOrIntList("vision_feature_layer"),
                config.requireString("vision_feature_select_strategy"));
        Activation act = Activation.fromHfName(config.requireString("projector_hidden_act"));
        try (CpuBackend backend = new CpuBackend(); Checkpoint checkpoint = Checkpoint.open(folder);
             SafetensorsFile expected = SafetensorsFile.open(folder.resolve("expected.safetensors"))) {
            VisionTransformer tower = VisionTransformer.load(backend, checkpoint, vision);
            assertEquals("vision_tower.", tower.weights().root());
            for (int i = 0; i < cases; i++) {
                Tensor want = expected.tensor("case" + i + ".projector_output");
                int tokens = want.dim(1);
                int textHidden = want.dim(2);
                int inner = checkpoint.tensor("multi_modal_projector.linear_1.weight").dim(0);
                try (VisionOutput out = tower.encode(expected.tensor("case" + i + ".pixel_values"), VisionRequest.features(selection));
                     Tensor hidden = Tensor.allocate(DType.F32, 1, tokens, inner);
                     Tensor projected = Tensor.allocate(DType.F32, 1, tokens, textHidden)) {
                    backend.linear(out.stackedFeatures(), checkpoint.tensor("multi_modal_projector.linear_1.weight"),
                            checkpoint.tensor("multi_modal_projector.linear_1.bias"), hidden);
                    backend.activation(act, hidden, hidden);
                    backend.linear(hidden, checkpoint.tensor("multi_modal_projector.linear_2.weight"),
                            checkpoint.tensor("multi_modal_projector.linear_2.bias"), projected);
                    double diff = VisionFixture.maxAbsDiff(projected, want);
                    LOG.info("parity {} case {} projector_output: max abs diff {}", name, i, diff);
                    assertTrue(diff <= 1e-4, name + " case " + i + ": max abs diff " + diff);
                }
            }
        }
    }
}
