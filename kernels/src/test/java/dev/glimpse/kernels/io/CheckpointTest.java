package dev.glimpse.kernels.io;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SortedMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointTest {

    @TempDir
    Path dir;

    private void shards() throws IOException {
        new SafetensorsWriter()
                .add("model.layers.0.w", DType.F32, new float[]{1, 2}, 2)
                .add("model.embed", DType.F32, new float[]{3}, 1)
                .write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafetensorsWriter()
                .add("model.layers.1.w", DType.BF16, new float[]{4, 5}, 2)
                .add("lm_head.weight", DType.F32, new float[]{6}, 1)
                .write(dir.resolve("model-00002-of-00002.safetensors"));
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), """
                {"metadata": {"total_size": 24},
                 "weight_map": {"model.layers.0.w": "model-00001-of-00002.safetensors",
                                "model.embed": "model-00001-of-00002.safetensors",
                                "model.layers.1.w": "model-00002-of-00002.safetensors",
                                "lm_head.weight": "model-00002-of-00002.safetensors"}}""");
    }

    @Test
    void shardedCheckpointResolvesTensorsThroughTheIndex() throws IOException {
        shards();
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertEquals(List.of("lm_head.weight", "model.embed", "model.layers.0.w", "model.layers.1.w"), ckpt.names());
            assertArrayEquals(new float[]{4, 5}, ckpt.tensor("model.layers.1.w").toFloatArray());
            assertArrayEquals(new float[]{1, 2}, ckpt.tensor("model.layers.0.w").toFloatArray());
            assertTrue(ckpt.has("lm_head.weight"));
        }
    }

    @Test
    void prefixLookupStripsThePrefixAndSorts() throws IOException {
        shards();
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            SortedMap<String, Tensor> layers = ckpt.tensors("model.layers.");
            assertEquals(List.of("0.w", "1.w"), List.copyOf(layers.keySet()));
            assertEquals(List.of("model.layers.0.w", "model.layers.1.w"), ckpt.names("model.layers."));
        }
    }

    @Test
    void missingTensorNamesTensorAndFolder() throws IOException {
        shards();
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            TensorNotFoundException e = assertThrows(TensorNotFoundException.class, () -> ckpt.tensor("model.norm"));
            assertTrue(e.getMessage().contains("model.norm") && e.getMessage().contains(dir.toString()));
        }
    }

    @Test
    void indexPointingAtAMissingShardIsRejected() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": {\"a\": \"gone.safetensors\"}}");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("gone.safetensors"));
    }

    @Test
    void indexMayNotEscapeTheFolder() throws IOException {
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE), "{\"weight_map\": {\"a\": \"../x.safetensors\"}}");
        assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir));
    }

    @Test
    void indexEntryForATensorTheShardLacksIsAFormatError() throws IOException {
        shards();
        Files.writeString(dir.resolve(Checkpoint.INDEX_FILE),
                "{\"weight_map\": {\"ghost\": \"model-00001-of-00002.safetensors\"}}");
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertThrows(CheckpointFormatException.class, () -> ckpt.tensor("ghost"));
        }
    }

    @Test
    void singleModelFileIsUsedWhenThereIsNoIndex() {
        new SafetensorsWriter().add("a", DType.F16, new float[]{1}, 1).write(dir.resolve(Checkpoint.SINGLE_FILE));
        new SafetensorsWriter().add("b", DType.F16, new float[]{1}, 1).write(dir.resolve("other.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertEquals(List.of("a"), ckpt.names());
        }
    }

    @Test
    void looseSafetensorsFilesAreMergedAndMayNotShareNames() {
        new SafetensorsWriter().add("a", DType.F32, new float[]{1}, 1).write(dir.resolve("x.safetensors"));
        new SafetensorsWriter().add("b", DType.F32, new float[]{2}, 1).write(dir.resolve("y.safetensors"));
        try (Checkpoint ckpt = Checkpoint.open(dir)) {
            assertEquals(List.of("a", "b"), ckpt.names());
            assertFalse(ckpt.has("c"));
        }
        new SafetensorsWriter().add("a", DType.F32, new float[]{3}, 1).write(dir.resolve("z.safetensors"));
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains("'a'"));
    }

    @Test
    void folderWithoutWeightsIsRejected() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.open(dir));
        assertTrue(e.getMessage().contains(dir.toString()));
    }
}
