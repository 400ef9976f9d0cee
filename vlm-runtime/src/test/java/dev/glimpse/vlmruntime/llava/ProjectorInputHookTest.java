package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pre-projector hook point: keep-all is the unpruned model bit for bit; dropping shrinks the prompt. */
class ProjectorInputHookTest {

    private static CpuBackend backend;
    private static LlavaModel llava;
    private static final LlavaFixture FIXTURE = LlavaFixture.open("llava-clip-llama");

    @BeforeAll
    static void load() {
        backend = new CpuBackend();
        llava = LlavaModel.load(FIXTURE.folder(), backend);
    }

    @AfterAll
    static void close() {
        llava.close();
        backend.close();
    }

    @Test
    void keepingEveryRowExplicitlyIsBitIdenticalToNoHook() {
        ProjectorInputHook all = (i, image) -> IntStream.range(0, image.features().dim(0)).toArray();
        assertArrayEquals(logits(ProjectorInputHook.KEEP_ALL), logits(all));
    }

    @Test
    void droppingRowsLeavesOnePlaceholderPerKeptToken() {
        ProjectorInputHook everyOther = (i, image) -> IntStream.range(0, image.features().dim(0)).filter(r -> r % 2 == 0)
                .toArray();
        try (PreparedPrompt p = llava.prepare(FIXTURE.testCase(0).get("prompt").asText(), FIXTURE.visualInput(0),
                everyOther, true)) {
            int imageTokens = (int) Arrays.stream(p.inputIds()).filter(id -> id == llava.config().imageTokenId()).count();
            assertEquals(8, imageTokens);
            assertEquals(FIXTURE.inputIds(0).length - 8, p.inputIds().length);
            assertEquals(new PreparedPrompt.VisualStats(8, 16, 16, 16, 8, p.visuals().preprocessNanos(), p.visuals().visionNanos()),
                    p.visuals());
        }
    }

    @Test
    void aHookReturningUnsortedRowsIsRejected() {
        ProjectorInputHook bad = (i, image) -> new int[] {3, 1};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                llava.prepare(FIXTURE.testCase(0).get("prompt").asText(), FIXTURE.visualInput(0), bad, true));
        assertTrue(e.getMessage().contains("strictly ascending"), e.getMessage());
    }

    @Test
    void placeholdersMustMatchTheImages() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                llava.prepare("USER: <image><image> hi ASSISTANT:", FIXTURE.visualInput(0), ProjectorInputHook.KEEP_ALL, true));
        assertEquals("the prompt has 2 <image> placeholders but 1 image was given", e.getMessage());
    }

    private static float[] logits(ProjectorInputHook hook) {
        try (PreparedPrompt p = llava.prepare(FIXTURE.testCase(0).get("prompt").asText(), FIXTURE.visualInput(0), hook, true);
             DecoderSession s = llava.decoder().newSession(SessionOptions.of(p.inputIds().length))) {
            s.prefill(p.embeddings(), p.positions(), null);
            float[] out = new float[llava.config().text().vocabSize()];
            s.copyLogits(out);
            return out;
        }
    }
}
