package dev.glimpse.visionencoder.preprocess;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class AnyResGeometryTest {

    private static final List<Resolution> ONEVISION = pinpoints();

    private static List<Resolution> pinpoints() {
        List<Resolution> out = new ArrayList<>();
        for (int h = 1; h <= 6; h++) {
            for (int w = 1; w <= 6; w++) {
                out.add(new Resolution(384 * h, 384 * w));
            }
        }
        return out;
    }

    /** Expected values printed by transformers 5.17's select_best_resolution. */
    @Test
    void selectBestResolutionAgreesWithTransformers() {
        int[][] cases = {
                {300, 434, 384, 768}, {400, 150, 768, 384}, {640, 800, 768, 1152}, {1, 1, 384, 384},
                {1000, 10, 1152, 384}, {10, 1000, 384, 1152}, {384, 384, 384, 384}, {385, 385, 768, 768},
                {768, 1536, 768, 1536}, {5000, 5000, 2304, 2304}, {2304, 1, 2304, 384}, {1080, 1920, 1152, 1920},
        };
        for (int[] c : cases) {
            assertEquals(new Resolution(c[2], c[3]),
                    AnyResGeometry.selectBestResolution(new Resolution(c[0], c[1]), ONEVISION), c[0] + "x" + c[1]);
        }
    }

    @Test
    void patchOutputSizeKeepsAspectRatioInsideTheTarget() {
        assertEquals(new Resolution(384, 556), AnyResGeometry.patchOutputSize(new Resolution(300, 434), new Resolution(384, 768)));
        assertEquals(new Resolution(768, 288), AnyResGeometry.patchOutputSize(new Resolution(400, 150), new Resolution(768, 384)));
    }
}
