package dev.glimpse.vlmruntime.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.visionencoder.preprocess.Resolution;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OnevisionPacking} against transformers' own {@code pack_image_features} and
 * {@code apply_pooling} on random features (tools/fixtures/make_onevision_packing.py), including
 * the anyres_max_N bilinear downsampling and odd grids that the model fixture never reaches.
 */
class OnevisionPackingTest {

    private static JsonNode reference;

    @BeforeAll
    static void read() throws IOException {
        try (InputStream in = OnevisionPackingTest.class.getResourceAsStream("/llava/onevision_packing.json")) {
            reference = new ObjectMapper().readTree(in);
        }
    }

    @Test
    void anyresPackingMatchesHuggingFaceIncludingDownsampling() {
        int side = reference.get("side").asInt();
        int dim = reference.get("dim").asInt();
        List<Resolution> pinpoints = new ArrayList<>();
        reference.get("pinpoints").forEach(p -> pinpoints.add(new Resolution(p.get(0).asInt(), p.get(1).asInt())));
        float[] newline = floats(reference.get("newline"));
        for (JsonNode c : reference.get("cases")) {
            Resolution size = new Resolution(c.get("image_size").get(0).asInt(), c.get("image_size").get(1).asInt());
            float[] packed = OnevisionPacking.packImage(floats(c.get("features")), c.get("tiles").asInt(), side, dim, size,
                    pinpoints, reference.get("tile_pixels").asInt(),
                    LlavaProcessorConfig.parseMaxPatches(c.get("vision_aspect_ratio").asText()), newline);
            assertEquals(c.get("packed_tokens").asInt() * dim, packed.length, c.toString().substring(0, 80));
            float diff = maxAbsDiff(floats(c.get("packed")), packed);
            assertTrue(diff <= 1e-6f, size + " " + c.get("vision_aspect_ratio") + ": max |diff| " + diff);
        }
    }

    @Test
    void videoPoolingMatchesHuggingFaceOnAnOddGrid() {
        JsonNode p = reference.get("pooling");
        int dim = reference.get("dim").asInt();
        float[] newline = floats(reference.get("newline"));
        float[] packed = OnevisionPacking.packVideo(floats(p.get("features")), p.get("frames").asInt(),
                p.get("side").asInt(), dim, newline);
        float[] pooled = floats(p.get("pooled"));
        assertEquals(pooled.length + dim, packed.length);
        float[] body = Arrays.copyOf(packed, pooled.length);
        assertTrue(maxAbsDiff(pooled, body) <= 1e-6f, "max |diff| " + maxAbsDiff(pooled, body));
        assertEquals(0f, maxAbsDiff(newline, Arrays.copyOfRange(packed, pooled.length, packed.length)));
    }
}
