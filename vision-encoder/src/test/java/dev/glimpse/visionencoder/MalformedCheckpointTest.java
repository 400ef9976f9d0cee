package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.SafetensorsWriter;
import dev.glimpse.kernels.io.TensorNotFoundException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MalformedCheckpointTest {

    @TempDir
    Path dir;

    /** Writes the tiny tower's weights under {@code prefix}, replacing or dropping one tensor. */
    private Path write(TinyTower t, String prefix, String replace, Tensor with) {
        SafetensorsWriter writer = new SafetensorsWriter();
        for (Map.Entry<String, Tensor> e : t.tensors.entrySet()) {
            if (!e.getKey().equals(replace)) {
                writer.add(prefix + e.getKey(), e.getValue());
            } else if (with != null) {
                writer.add(prefix + e.getKey(), with);
            }
        }
        writer.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void llavaPrefixedCheckpointLoadsAndMatchesTheSameWeightsInMemory() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 1);
             Checkpoint checkpoint = Checkpoint.open(write(t, "model.vision_tower.vision_model.", null, null))) {
            VisionTransformer loaded = VisionTransformer.load(t.backend, checkpoint, t.config);
            assertEquals("model.vision_tower.vision_model.", loaded.weights().root());
            try (VisionOutput a = loaded.encode(pixels, VisionRequest.features(FeatureSelection.llava15()));
                 VisionOutput b = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15()))) {
                assertArrayEquals(b.stackedFeatures().toFloatArray(), a.stackedFeatures().toFloatArray());
            }
        }
    }

    @Test
    void explicitPrefixFindsTheTowerUnderVisionModel() {
        try (TinyTower t = new TinyTower(TinyTower.SIGLIP);
             Checkpoint checkpoint = Checkpoint.open(write(t, "vision_tower.vision_model.", null, null))) {
            assertEquals("vision_tower.vision_model.", VisionWeights.load(checkpoint, t.config, "vision_tower.").root());
        }
    }

    @Test
    void wrongShapeNamesTensorExpectedActualAndFile() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor wrong = Tensor.allocate(DType.F32, 64, 31);
             Checkpoint checkpoint = Checkpoint.open(write(t, "vision_model.", "encoder.layers.2.mlp.fc1.weight", wrong))) {
            WeightShapeException e = assertThrows(WeightShapeException.class,
                    () -> VisionWeights.load(checkpoint, t.config));
            assertEquals("vision_model.encoder.layers.2.mlp.fc1.weight", e.tensorName());
            assertArrayEquals(new int[] {64, 32}, e.expected());
            assertArrayEquals(new int[] {64, 31}, e.actual());
            assertTrue(e.getMessage().contains("[64, 32]") && e.getMessage().contains("[64, 31]")
                    && e.getMessage().contains(dir.resolve("model.safetensors").toString()), e.getMessage());
        }
    }

    @Test
    void truncatedPositionTableIsAShapeError() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor shorter = Tensor.allocate(DType.F32, 16, 32);
             Checkpoint checkpoint = Checkpoint.open(write(t, "", "embeddings.position_embedding.weight", shorter))) {
            WeightShapeException e = assertThrows(WeightShapeException.class,
                    () -> VisionWeights.load(checkpoint, t.config));
            assertArrayEquals(new int[] {17, 32}, e.expected());
        }
    }

    @Test
    void missingTensorNamesItAndTheCheckpoint() {
        try (TinyTower t = new TinyTower(TinyTower.SIGLIP);
             Checkpoint checkpoint = Checkpoint.open(write(t, "vision_model.", "head.attention.in_proj_bias", null))) {
            TensorNotFoundException e = assertThrows(TensorNotFoundException.class,
                    () -> VisionWeights.load(checkpoint, t.config));
            assertTrue(e.getMessage().contains("vision_model.head.attention.in_proj_bias")
                    && e.getMessage().contains(dir.toString()), e.getMessage());
        }
    }

    @Test
    void checkpointWithoutAVisionTowerListsWhereItLooked() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP);
             Checkpoint checkpoint = Checkpoint.open(write(t, "text_model.", null, null))) {
            TensorNotFoundException e = assertThrows(TensorNotFoundException.class,
                    () -> VisionWeights.load(checkpoint, t.config));
            assertTrue(e.getMessage().contains("vision_tower.vision_model.embeddings.patch_embedding.weight"), e.getMessage());
        }
    }

    @Test
    void integerWeightIsRejectedWithItsDType() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor ints = Tensor.allocate(DType.I32, 32);
             Checkpoint checkpoint = Checkpoint.open(write(t, "", "post_layernorm.bias", ints))) {
            WeightShapeException e = assertThrows(WeightShapeException.class,
                    () -> VisionWeights.load(checkpoint, t.config));
            assertTrue(e.getMessage().contains("I32"), e.getMessage());
        }
    }

    @Test
    void pixelValuesOfTheWrongSizeAreRejectedWithTheExpectedShape() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = Tensor.allocate(DType.F32, 1, 3, 32, 30)) {
            PixelValuesException e = assertThrows(PixelValuesException.class,
                    () -> t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15())));
            assertTrue(e.getMessage().contains("[batch >= 1, 3, 32, 32]") && e.getMessage().contains("[1, 3, 32, 30]"),
                    e.getMessage());
        }
    }

    @Test
    void pixelValuesWithoutABatchDimensionAreRejected() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = Tensor.allocate(DType.F32, 3, 32, 32)) {
            assertThrows(PixelValuesException.class,
                    () -> t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15())));
        }
    }
}
