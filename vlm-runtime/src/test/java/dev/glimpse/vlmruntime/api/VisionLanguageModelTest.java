package dev.glimpse.vlmruntime.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.videoingest.MediaLimitExceededException;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The public API on the LLaVA-OneVision fixture: ask (chat template, greedy), streaming, logits, load errors. */
class VisionLanguageModelTest {

    private static final Path FOLDER = DecoderFixture.folder("llava-onevision-qwen2");
    private static final LoadOptions CPU = LoadOptions.defaults().withDevice(Backends.Choice.CPU);
    private static VisionLanguageModel vlm;
    private static JsonNode expected;

    @BeforeAll
    static void load() throws IOException {
        vlm = Glimpse.load(FOLDER, CPU);
        expected = new ObjectMapper().readTree(FOLDER.resolve("expected.json").toFile()).get("cases");
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    /** A request after close (one a stopping server had begun) fails with a clear error; closing twice is harmless. */
    @Test
    void aClosedModelRefusesRequests() throws IOException {
        VisionLanguageModel closed = Glimpse.load(FOLDER, CPU);
        closed.close();
        closed.close();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> closed.ask(
                Media.imageFile(FOLDER.resolve("wide_90x50.png")), "What is in the picture?", AskOptions.defaults()));
        assertEquals("the model is closed", e.getMessage());
    }

    /** Case 0's prompt is what the chat template renders for this question, so HF's greedy tokens are the answer. */
    @Test
    void askRendersTheChatTemplateAndAnswersWithHfGreedyTokens() {
        Answer a = vlm.ask(Media.imageFile(FOLDER.resolve("wide_90x50.png")), "What is in the picture?",
                AskOptions.defaults().withMaxNewTokens(8));
        assertArrayEquals(ints(expected.get(0).get("greedy_ids")), a.tokenIds());
        assertEquals(72, a.counts().prompt());
        assertEquals(8, a.counts().generated());
        assertEquals(List.of(new Answer.VisualStage("vision", 5 * 16, 5 * 16),
                        new Answer.VisualStage("projector", 5 * 16, 5 * 16), new Answer.VisualStage("decoder", 52, 52)),
                a.counts().visual());
        assertEquals(vlm.llava().tokenizer().decode(a.tokenIds(), true), a.text());
        assertTrue(a.timings().visionNanos() > 0 && a.timings().prefillNanos() > 0 && a.timings().generateNanos() > 0);
        assertTrue(a.prefillFlops() > 0 && a.decodeTokensPerSecond() > 0);
    }

    @Test
    void streamingListenerSeesEveryTokenInOrder() {
        List<Integer> ids = new ArrayList<>();
        StringBuilder text = new StringBuilder();
        Answer a = vlm.ask(Media.imageFile(FOLDER.resolve("tall_40x70.png")), "What colour is the square?",
                AskOptions.defaults().withMaxNewTokens(8), (id, piece) -> {
                    ids.add(id);
                    text.append(piece);
                });
        assertArrayEquals(ints(expected.get(1).get("greedy_ids")), ids.stream().mapToInt(Integer::intValue).toArray());
        assertArrayEquals(a.tokenIds(), ids.stream().mapToInt(Integer::intValue).toArray());
        assertEquals(a.text(), text.toString());
    }

    @Test
    void logitsOfARawPromptMatchHf() {
        LogitsResult r = vlm.logits(Media.imageFile(FOLDER.resolve("wide_90x50.png")), expected.get(0).get("prompt").asText());
        float[] hf;
        try (SafetensorsFile f = SafetensorsFile.open(FOLDER.resolve("expected.safetensors"))) {
            hf = f.tensor("case0.last_logits").toFloatArray();
            assertArrayEquals(f.tensor("case0.input_ids").toFloatArray(), toFloats(r.inputIds()));
        }
        assertTrue(maxAbsDiff(hf, r.lastLogits()) <= 1e-3f);
    }

    /** The load options' media limits hold for every call: a 90x50 image is refused under a 4000-pixel limit. */
    @Test
    void mediaOverTheLoadedLimitsIsRefusedBeforeDecoding() {
        LoadOptions small = CPU.withMediaLimits(MediaLimits.DEFAULTS.withMaxPixelsPerFrame(4000));
        try (VisionLanguageModel limited = Glimpse.load(FOLDER, small)) {
            MediaLimitExceededException e = assertThrows(MediaLimitExceededException.class, () -> limited.ask(
                    Media.imageFile(FOLDER.resolve("wide_90x50.png")), "What is it?", AskOptions.defaults()));
            assertEquals(MediaLimits.Limit.PIXELS_PER_FRAME, e.limit());
            assertTrue(e.getMessage().contains("90x50 (4500 pixels) exceeds the limit of 4000 pixels"), e.getMessage());
        }
    }

    @Test
    void aFolderWithoutConfigIsRefusedWithItsName() {
        ConfigException e = assertThrows(ConfigException.class, () -> Glimpse.load(FOLDER.resolve("nope"), CPU));
        assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }

    private static float[] toFloats(int[] ids) {
        float[] out = new float[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = ids[i];
        }
        return out;
    }
}
