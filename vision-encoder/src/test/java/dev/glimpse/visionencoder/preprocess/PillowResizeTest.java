package dev.glimpse.visionencoder.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.image.ImageSizeException;
import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PillowResizeTest {

    @Test
    void matchesPillowBitForBitOnEveryFixtureCase() throws IOException {
        JsonNode cases = PreprocessFixtures.json("resize_cases.json").get("cases");
        byte[] expected = Files.readAllBytes(PreprocessFixtures.dir().resolve("resize_expected.bin"));
        List<String> mismatches = new ArrayList<>();
        long differing = 0;
        long total = 0;
        int maxDiff = 0;
        for (JsonNode c : cases) {
            RgbImage src = PreprocessFixtures.synthetic(c.get("src").get(0).asInt(), c.get("src").get(1).asInt(),
                    c.get("seed").asInt(), c.get("kind").asText());
            ResampleFilter filter = ResampleFilter.valueOf(c.get("filter").asText());
            RgbImage out = PillowResize.resize(src, c.get("dst").get(0).asInt(), c.get("dst").get(1).asInt(), filter);
            int offset = c.get("offset").asInt();
            int length = c.get("length").asInt();
            assertEquals(length, out.pixels().length, "output size of " + c);
            int caseDiffering = 0;
            for (int i = 0; i < length; i++) {
                int d = Math.abs((out.pixels()[i] & 0xFF) - (expected[offset + i] & 0xFF));
                if (d != 0) {
                    caseDiffering++;
                    maxDiff = Math.max(maxDiff, d);
                }
            }
            total += length;
            differing += caseDiffering;
            if (caseDiffering != 0) {
                mismatches.add(c.get("src") + "->" + c.get("dst") + " " + filter + " " + c.get("kind") + ": "
                        + caseDiffering + " bytes differ");
            }
        }
        System.out.printf("PillowResize vs PIL 12.3: %d cases, %d bytes, %d differ, max diff %d%n",
                cases.size(), total, differing, maxDiff);
        assertTrue(mismatches.isEmpty(), String.join("\n", mismatches));
    }

    @Test
    void sameSizeReturnsTheImageUnchanged() {
        RgbImage src = PreprocessFixtures.synthetic(9, 4, 1, "noise");
        assertSame(src, PillowResize.resize(src, 9, 4, ResampleFilter.BICUBIC));
    }

    @Test
    void rejectsAnAbsurdTargetBeforeAllocating() {
        RgbImage src = PreprocessFixtures.synthetic(4, 4, 1, "noise");
        ImageSizeException e = assertThrows(ImageSizeException.class,
                () -> PillowResize.resize(src, 100_000, 100_000, ResampleFilter.BICUBIC));
        assertTrue(e.getMessage().contains("RgbImage.MAX_PIXELS"), e.getMessage());
        assertThrows(ImageSizeException.class, () -> PillowResize.resize(src, 0, 4, ResampleFilter.BILINEAR));
    }
}
