package dev.glimpse.vlmruntime.config;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LlavaConfigTest {

    @TempDir
    Path dir;

    static Path resource(String name) {
        try {
            return Path.of(LlavaConfigTest.class.getResource("/configs/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void llava15ParsesWithLlamaDefaultsForAbsentTextKeys() {
        LlavaConfig c = LlavaConfig.load(resource("llava-1.5-7b-hf.v4.json"));
        assertEquals(List.of("LlavaForConditionalGeneration"), c.architectures());
        assertEquals(32000, c.imageTokenId());
        assertEquals(List.of(-2), c.visionFeatureLayers());
        assertEquals("default", c.visionFeatureSelectStrategy());
        assertEquals(OptionalInt.of(576), c.imageSeqLength());
        assertEquals(Optional.of(DType.F16), c.dtype());
        TextConfig t = c.text();
        assertEquals(32064, t.vocabSize());
        assertEquals(4096, t.hiddenSize());
        assertEquals(11008, t.intermediateSize());
        assertEquals(32, t.numKeyValueHeads());
        assertEquals(128, t.headDim());
        assertEquals(1e-5, t.rmsNormEps());
        assertEquals(RopeConfig.standard(10000.0), t.rope());
        assertEquals(OptionalInt.of(1), t.bosTokenId());
        assertEquals(List.of(2), t.eosTokenIds());
        assertEquals(false, t.qkvBias());
        VisionConfig v = c.vision();
        assertEquals(VisionConfig.CLIP, v.modelType());
        assertEquals("quick_gelu", v.hiddenAct());
        assertEquals(576, v.numPatches());
    }

    @Test
    void llava15TransformersFiveSpellingGivesTheSameRecord() {
        assertEquals(LlavaConfig.load(resource("llava-1.5-7b-hf.v4.json")),
                LlavaConfig.load(resource("llava-1.5-7b-hf.v5.json")));
    }

    @Test
    void onevisionParsesQwen2WithSiglip() {
        LlavaConfig c = LlavaConfig.load(resource("llava-onevision-qwen2-0.5b-ov-hf.v4.json"));
        assertTrue(c.isOnevision());
        assertEquals(151646, c.imageTokenId());
        assertEquals(OptionalInt.of(151647), c.videoTokenId());
        assertEquals(List.of(-1), c.visionFeatureLayers());
        assertEquals(Optional.of("anyres_max_9"), c.visionAspectRatio());
        assertEquals(List.of(768, 384), c.imageGridPinpoints().get(2));
        assertTrue(c.tieWordEmbeddings(), "tied through text_config as in HF");
        TextConfig t = c.text();
        assertEquals(TextConfig.QWEN2, t.modelType());
        assertEquals(2, t.numKeyValueHeads());
        assertEquals(64, t.headDim());
        assertTrue(t.qkvBias());
        assertEquals(false, t.outputBias());
        assertEquals(RopeConfig.standard(1_000_000.0), t.rope());
        assertEquals(OptionalInt.empty(), t.slidingWindow());
        assertEquals(Optional.of(DType.BF16), t.dtype());
        assertEquals(VisionConfig.SIGLIP, c.vision().modelType());
        assertEquals(false, c.vision().visionUseHead());
        assertEquals(729, c.vision().numPatches());
    }

    @Test
    void onevisionTransformersFiveSpellingGivesTheSameRecord() {
        assertEquals(LlavaConfig.load(resource("llava-onevision-qwen2-0.5b-ov-hf.v4.json")),
                LlavaConfig.load(resource("llava-onevision-qwen2-0.5b-ov-hf.v5.json")));
    }

    @Test
    void llama3RopeScalingAndRopeParametersGiveTheSameRecord() {
        LlavaConfig v4 = LlavaConfig.load(resource("llava-llama3.v4.json"));
        assertEquals(v4, LlavaConfig.load(resource("llava-llama3.v5.json")));
        RopeConfig rope = v4.text().rope();
        assertEquals("llama3", rope.type());
        assertEquals(500000.0, rope.theta());
        assertEquals(Map.of("factor", 8.0, "low_freq_factor", 1.0, "high_freq_factor", 4.0,
                "original_max_position_embeddings", 8192.0), rope.parameters());
        assertEquals(List.of(128001, 128008, 128009), v4.text().eosTokenIds());
        assertEquals(List.of(-2, -5, -8), v4.visionFeatureLayers());
        assertEquals(8, v4.text().numKeyValueHeads());
    }

    @Test
    void absentSubConfigsTakeTheHfCompositeDefaults() throws IOException {
        LlavaConfig llava = LlavaConfig.load(Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llava\"}"));
        assertEquals(1024, llava.vision().hiddenSize());
        assertEquals(336, llava.vision().imageSize());
        assertEquals(TextConfig.LLAMA, llava.text().modelType());
        assertEquals(2048, llava.text().maxPositionEmbeddings());
        LlavaConfig ov = LlavaConfig.load(Files.writeString(dir.resolve("config.json"),
                "{\"model_type\": \"llava_onevision\", \"text_config\": {}}"));
        assertEquals(1152, ov.vision().hiddenSize());
        assertEquals(TextConfig.QWEN2, ov.text().modelType());
        assertEquals(32, ov.text().numKeyValueHeads());
        assertEquals(36, ov.imageGridPinpoints().size());
    }

    @Test
    void qwen2NullKeyValueHeadsMeansTheHeadCount() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llava_onevision\", \"text_config\": "
                + "{\"num_attention_heads\": 8, \"hidden_size\": 512, \"num_key_value_heads\": null}}");
        assertEquals(8, LlavaConfig.load(f).text().numKeyValueHeads());
    }

    @Test
    void qwen2SlidingWindowAppliesFromMaxWindowLayers() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"qwen2\", \"num_hidden_layers\": 4,"
                + " \"use_sliding_window\": true, \"sliding_window\": 1024, \"max_window_layers\": 2}");
        TextConfig t = TextConfig.load(f);
        assertEquals(OptionalInt.of(1024), t.slidingWindow());
        assertEquals(List.of("full_attention", "full_attention", "sliding_attention", "sliding_attention"), t.layerTypes());
    }

    @Test
    void missingRequiredKeyNamesKeyAndFile() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"text_config\": {}}");
        ConfigException e = assertThrows(ConfigException.class, () -> LlavaConfig.load(f));
        assertTrue(e.getMessage().contains("model_type") && e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void llama3RopeWithoutRequiredFactorNamesTheNestedKey() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llava\", \"text_config\": "
                + "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}}");
        ConfigException e = assertThrows(ConfigException.class, () -> LlavaConfig.load(f));
        assertTrue(e.getMessage().contains("text_config.rope_scaling.low_freq_factor"), e.getMessage());
    }

    @Test
    void wrongTypedKeyNamesThePath() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llava\", \"vision_config\": "
                + "{\"hidden_size\": \"1024\"}}");
        ConfigException e = assertThrows(ConfigException.class, () -> LlavaConfig.load(f));
        assertTrue(e.getMessage().contains("vision_config.hidden_size"), e.getMessage());
    }

    @Test
    void conflictingImageTokenSpellingsAreRejected() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"),
                "{\"model_type\": \"llava\", \"image_token_id\": 1, \"image_token_index\": 2}");
        assertThrows(ConfigException.class, () -> LlavaConfig.load(f));
    }

    @Test
    void unsupportedRopeTypeIsRejected() throws IOException {
        Path f = Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\", "
                + "\"rope_parameters\": {\"rope_type\": \"longrope\", \"rope_theta\": 1.0}}");
        ConfigException e = assertThrows(ConfigException.class, () -> TextConfig.load(f));
        assertTrue(e.getMessage().contains("rope_parameters.rope_type"), e.getMessage());
    }
}
