package dev.glimpse.visionencoder.config;

import dev.glimpse.kernels.io.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VisionConfigTest {

    @TempDir
    Path dir;

    private Path config(String json) throws IOException {
        return Files.writeString(dir.resolve("config.json"), json);
    }

    @Test
    void clipModelConfigYieldsItsVisionConfigWithClipDefaults() throws IOException {
        VisionConfig c = VisionConfig.load(config("""
                {"model_type": "clip", "projection_dim": 768,
                 "vision_config": {"hidden_size": 1024, "image_size": 336, "intermediate_size": 4096,
                   "num_attention_heads": 16, "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768}}"""));
        assertEquals(new VisionConfig(VisionConfig.CLIP, 1024, 4096, 24, 16, 3, 336, 14, "quick_gelu", 1e-5,
                OptionalInt.of(768), false), c);
        assertEquals(577 - 1, c.numPatches());
        assertTrue(c.hasClassToken());
        assertEquals(64, c.headDim());
    }

    @Test
    void standaloneClipVisionModelDefaultsMatchClipVisionConfig() throws IOException {
        assertEquals(VisionConfig.defaults(VisionConfig.CLIP), VisionConfig.load(config("{\"model_type\": \"clip_vision_model\"}")));
        VisionConfig d = VisionConfig.defaults(VisionConfig.CLIP);
        assertEquals(32, d.patchSize());
        assertEquals(OptionalInt.of(512), d.projectionDim());
    }

    @Test
    void siglipDefaultsKeepTheHeadUnlessDisabled() throws IOException {
        VisionConfig s = VisionConfig.load(config("{\"model_type\": \"siglip_vision_model\", \"image_size\": 384,"
                + " \"patch_size\": 14, \"hidden_size\": 1152, \"intermediate_size\": 4304, \"num_attention_heads\": 16,"
                + " \"num_hidden_layers\": 27}"));
        assertTrue(s.visionUseHead());
        assertEquals("gelu_pytorch_tanh", s.hiddenAct());
        assertEquals(1e-6, s.layerNormEps());
        assertEquals(OptionalInt.empty(), s.projectionDim());
        assertFalse(s.hasClassToken());
        assertEquals(729, s.numPatches());
        VisionConfig noHead = VisionConfig.load(config("{\"model_type\": \"siglip_vision_model\", \"vision_use_head\": false}"));
        assertFalse(noHead.visionUseHead());
        assertEquals(16, noHead.patchSize());
    }

    @Test
    void llavaConfigYieldsItsVisionConfig() throws IOException {
        VisionConfig c = VisionConfig.load(config("{\"model_type\": \"llava_onevision\", \"vision_config\": "
                + "{\"model_type\": \"siglip_vision_model\", \"vision_use_head\": false, \"patch_size\": 14, \"image_size\": 384}}"));
        assertEquals(VisionConfig.SIGLIP, c.modelType());
        assertFalse(c.visionUseHead());
    }

    @Test
    void unsupportedVisionTypeNamesTheKeyAndFile() throws IOException {
        Path f = config("{\"model_type\": \"llava\", \"vision_config\": {\"model_type\": \"dinov2\"}}");
        ConfigException e = assertThrows(ConfigException.class, () -> VisionConfig.load(f));
        assertTrue(e.getMessage().contains("vision_config.model_type") && e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void imageSmallerThanOnePatchIsRejected() throws IOException {
        Path f = config("{\"model_type\": \"clip_vision_model\", \"image_size\": 10, \"patch_size\": 14}");
        ConfigException e = assertThrows(ConfigException.class, () -> VisionConfig.load(f));
        assertTrue(e.getMessage().contains("image_size"));
    }
}
