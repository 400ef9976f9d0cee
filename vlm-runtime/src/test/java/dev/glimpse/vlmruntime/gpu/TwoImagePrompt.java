package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.llava.VisualInput;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/**
 * A fixtures/llava-* folder and its first two cases as the GPU model tests feed them: case 0's
 * prompt and each case's first image, decoded with {@link PngFixtures} (no OpenCV on the device).
 */
record TwoImagePrompt(Path folder, String prompt, List<VisualInput> images) {

    static TwoImagePrompt of(String fixture) {
        Path folder = DecoderFixture.folder(fixture);
        JsonNode cases;
        try {
            cases = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new TwoImagePrompt(folder, cases.get(0).get("prompt").asText(),
                List.of(firstImage(folder, cases.get(0)), firstImage(folder, cases.get(1))));
    }

    private static VisualInput firstImage(Path folder, JsonNode c) {
        return new VisualInput.Images(List.of(PngFixtures.decode(folder.resolve(c.get("images").get(0).asText()))));
    }
}
