package dev.glimpse.visionencoder.preprocess;

import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.HfJson;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BadImageInputTest {

    private static ImageProcessor processor(String json) throws Exception {
        return ImageProcessor.of(ImageProcessorConfig.parse(
                HfJson.of(Path.of("test/preprocessor_config.json"), new ObjectMapper().readTree(json))));
    }

    @Test
    void zeroOrNegativeSidesAreRejected() {
        assertThrows(ImageSizeException.class, () -> new RgbImage(0, 5, new byte[0]));
        assertThrows(ImageSizeException.class, () -> new RgbImage(5, -1, new byte[0]));
        assertThrows(ImageSizeException.class, () -> RgbImage.black(0, 0));
    }

    @Test
    void aBufferThatDoesNotMatchTheSizeIsRejected() {
        ImageSizeException e = assertThrows(ImageSizeException.class, () -> new RgbImage(4, 4, new byte[47]));
        assertTrue(e.getMessage().contains("48"), e.getMessage());
    }

    @Test
    void anAbsurdImageIsRejectedBeforeItsBufferIsChecked() {
        ImageSizeException e = assertThrows(ImageSizeException.class, () -> new RgbImage(100_000, 100_000, new byte[3]));
        assertTrue(e.getMessage().contains("RgbImage.MAX_PIXELS"), e.getMessage());
    }

    @Test
    void anAbsurdResizeTargetFromTheConfigFailsBeforeAllocating() throws Exception {
        ImageProcessor p = processor("{\"image_processor_type\": \"SiglipImageProcessor\", \"size\": {\"height\": 100000, \"width\": 100000}}");
        ImageSizeException e = assertThrows(ImageSizeException.class, () -> p.process(RgbImage.black(8, 8)));
        assertTrue(e.getMessage().contains("resize target"), e.getMessage());
    }

    @Test
    void anExtremeAspectRatioUnderShortestEdgeFailsBeforeAllocating() throws Exception {
        ImageProcessor p = processor("{\"image_processor_type\": \"CLIPImageProcessor\", \"size\": {\"shortest_edge\": 4096}}");
        assertThrows(ImageSizeException.class, () -> p.process(RgbImage.black(1, 100_000)));
    }

    @Test
    void aPinpointTooLargeToPadFailsBeforeAllocating() throws Exception {
        ImageProcessor p = processor("{\"image_processor_type\": \"LlavaOnevisionImageProcessor\", "
                + "\"image_grid_pinpoints\": [[100000, 100000]]}");
        assertThrows(ImageSizeException.class, () -> p.process(RgbImage.black(16, 16)));
    }
}
