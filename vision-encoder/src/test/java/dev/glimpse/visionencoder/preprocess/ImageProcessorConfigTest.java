package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.io.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ImageProcessorConfigTest {

    @TempDir
    Path dir;

    private ImageProcessorConfig load(String json) throws IOException {
        Files.writeString(dir.resolve("preprocessor_config.json"), json);
        return ImageProcessorConfig.load(dir);
    }

    private ConfigException failure(String json) {
        return assertThrows(ConfigException.class, () -> load(json));
    }

    @Test
    void clipDefaultsAreCLIPImageProcessors() throws IOException {
        ImageProcessorConfig c = load("{\"image_processor_type\": \"CLIPImageProcessor\"}");
        assertEquals(ImageProcessorType.CLIP, c.type());
        assertEquals(new SizeSpec.ShortestEdge(224), c.size());
        assertEquals(Optional.of(new Resolution(224, 224)), c.cropSize());
        assertTrue(c.doCenterCrop() && c.doResize() && c.doRescale() && c.doNormalize() && c.doConvertRgb());
        assertFalse(c.doPad());
        assertEquals(ResampleFilter.BICUBIC, c.resample());
        assertEquals(1.0 / 255, c.rescaleFactor());
        assertEquals(List.of(0.48145466, 0.4578275, 0.40821073), c.imageMean());
        assertEquals(List.of(0.26862954, 0.26130258, 0.27577711), c.imageStd());
    }

    @Test
    void siglipDefaultsAreFixed224WithHalfMeanAndStd() throws IOException {
        ImageProcessorConfig c = load("{\"image_processor_type\": \"SiglipImageProcessorFast\"}");
        assertEquals(new SizeSpec.FixedSize(224, 224), c.size());
        assertFalse(c.doCenterCrop());
        assertEquals(List.of(0.5, 0.5, 0.5), c.imageMean());
        assertEquals(List.of(0.5, 0.5, 0.5), c.imageStd());
    }

    @Test
    void onevisionDefaultsPadAndTileOver36Pinpoints() throws IOException {
        ImageProcessorConfig c = load("{\"image_processor_type\": \"LlavaOnevisionImageProcessorPil\"}");
        assertEquals(new SizeSpec.FixedSize(384, 384), c.size());
        assertTrue(c.doPad());
        assertFalse(c.doCenterCrop());
        assertEquals(36, c.imageGridPinpoints().size());
        assertEquals(new Resolution(384, 768), c.imageGridPinpoints().get(1));
        assertEquals(new Resolution(2304, 2304), c.imageGridPinpoints().get(35));
    }

    @Test
    void nullMeansTheClassDefault() throws IOException {
        ImageProcessorConfig c = load("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": null, \"do_center_crop\": null}");
        assertEquals(new SizeSpec.ShortestEdge(224), c.size());
        assertTrue(c.doCenterCrop());
    }

    @Test
    void legacyIntSizesAndFeatureExtractorTypeReadAsTransformersDoes() {
        Path fixtures = PreprocessFixtures.dir().resolve("configs");
        ImageProcessorConfig legacy = ImageProcessorConfig.load(fixtures.resolve("clip336_legacy"));
        ImageProcessorConfig modern = ImageProcessorConfig.load(fixtures.resolve("clip336"));
        assertEquals(ImageProcessorType.CLIP, legacy.type());
        assertEquals(new SizeSpec.ShortestEdge(336), legacy.size());
        assertEquals(Optional.of(new Resolution(336, 336)), legacy.cropSize());
        assertEquals(modern.size(), legacy.size());
        assertEquals(modern.imageMean(), legacy.imageMean());
    }

    @Test
    void intSizeIsSquareWhenDefaultToSquare() throws IOException {
        ImageProcessorConfig c = load("{\"image_processor_type\": \"SiglipImageProcessor\", \"size\": 96, \"default_to_square\": true}");
        assertEquals(new SizeSpec.FixedSize(96, 96), c.size());
    }

    @Test
    void processorConfigImageProcessorObjectWinsOverPreprocessorConfig() throws IOException {
        Files.writeString(dir.resolve("processor_config.json"),
                "{\"image_processor\": {\"image_processor_type\": \"SiglipImageProcessor\", \"size\": {\"height\": 64, \"width\": 32}}}");
        ImageProcessorConfig c = load("{\"image_processor_type\": \"CLIPImageProcessor\"}");
        assertEquals(ImageProcessorType.SIGLIP, c.type());
        assertEquals(new SizeSpec.FixedSize(64, 32), c.size());
    }

    @Test
    void unsupportedResampleNamesFilterKeyAndFile() {
        ConfigException e = failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"resample\": 1}");
        assertTrue(e.getMessage().contains("'resample'") && e.getMessage().contains("LANCZOS")
                && e.getMessage().contains("preprocessor_config.json"), e.getMessage());
    }

    @Test
    void malformedValuesAreConfigErrorsNamingTheKey() {
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"tall\": 3}}")
                .getMessage().contains("'size'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"shortest_edge\": 0}}")
                .getMessage().contains("'size'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"longest_edge\": 5}}")
                .getMessage().contains("'size'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": \"big\"}")
                .getMessage().contains("'size'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"crop_size\": {\"shortest_edge\": 5}}")
                .getMessage().contains("'crop_size'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"image_mean\": [0.5, 0.5]}")
                .getMessage().contains("'image_mean'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"image_std\": [0.5, 0, 0.5]}")
                .getMessage().contains("'image_std'"));
        assertTrue(failure("{\"image_processor_type\": \"CLIPImageProcessor\", \"do_resize\": \"yes\"}")
                .getMessage().contains("'do_resize'"));
        assertTrue(failure("{\"image_processor_type\": \"LlavaOnevisionImageProcessor\", \"image_grid_pinpoints\": [[384]]}")
                .getMessage().contains("image_grid_pinpoints[0]"));
        assertTrue(failure("{\"image_processor_type\": \"ViTImageProcessor\"}").getMessage().contains("'image_processor_type'"));
        assertTrue(failure("{}").getMessage().contains("image_processor_type"));
        assertTrue(failure("{\"image_processor_type\": ").getMessage().contains("malformed JSON"));
    }

    @Test
    void aFolderWithoutEitherFileIsAConfigError() {
        ConfigException e = assertThrows(ConfigException.class, () -> ImageProcessorConfig.load(dir));
        assertTrue(e.getMessage().contains("preprocessor_config.json"), e.getMessage());
    }
}
