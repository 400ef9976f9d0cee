package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualHooks;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The request CudaLlavaBench times, warms up and records a timeline of: one session shape for all
 * three (the prefill graphs and the capacity-sized scratch follow it), and the pipeline's own first
 * token. CPU, on the tiny LLaVA fixture.
 */
class MeasuredRequestTest {

    private static final int STEPS = 5;

    private static CpuBackend backend;
    private static LlavaModel model;
    private static VisualInput input;

    @BeforeAll
    static void load() {
        backend = new CpuBackend();
        model = LlavaModel.load(DecoderFixture.folder("llava-clip-llama"), backend);
        int size = model.config().vision().imageSize();
        byte[] pixels = new byte[size * size * 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 31 + 7);
        }
        input = new VisualInput.Images(List.of(new RgbImage(size, size, pixels)));
    }

    @AfterAll
    static void close() {
        model.close();
        backend.close();
    }

    @Test
    void theSessionHoldsThePromptTheDecodeStepsAndEightMore() {
        try (MeasuredRequest request = new MeasuredRequest(model, CudaLlavaBench.LLAVA_PROMPT, input, PruningPlan.none(),
                STEPS, SessionOptions.AUTO_PREFILL_CHUNK)) {
            request.prepare();
            request.firstToken();
            int prompt = request.prepared().inputIds().length;
            assertEquals(MeasuredRequest.sessionOptions(prompt, STEPS, SessionOptions.AUTO_PREFILL_CHUNK),
                    request.session().options());
            assertEquals(prompt + STEPS + 8, request.session().options().maxSequenceLength());
        }
    }

    @Test
    void itsFirstTokenIsThePipelinesGreedyToken() {
        int expected;
        try (PreparedPrompt prepared = model.prepare(CudaLlavaBench.LLAVA_PROMPT, input, VisualHooks.NONE, true);
             DecoderSession session = model.decoder().newSession(SessionOptions.of(prepared.inputIds().length + 1))) {
            session.prefill(prepared.embeddings(), prepared.positions(), null);
            expected = session.greedyToken();
        }
        try (MeasuredRequest request = new MeasuredRequest(model, CudaLlavaBench.LLAVA_PROMPT, input, PruningPlan.none(),
                STEPS, SessionOptions.AUTO_PREFILL_CHUNK)) {
            request.prepare();
            assertEquals(expected, request.firstToken());
        }
    }

    @Test
    void itNotesWhenThePrefillWasQueuedBetweenPrepareAndTheFirstToken() {
        try (MeasuredRequest request = new MeasuredRequest(model, CudaLlavaBench.LLAVA_PROMPT, input, PruningPlan.none(),
                STEPS, SessionOptions.AUTO_PREFILL_CHUNK)) {
            request.prepare();
            long prepared = System.nanoTime();
            assertEquals(0, request.prefillQueuedNanos());
            request.firstToken();
            long first = System.nanoTime();
            assertTrue(request.prefillQueuedNanos() >= prepared && request.prefillQueuedNanos() <= first,
                    "queued at " + request.prefillQueuedNanos() + ", prepared at " + prepared + ", first token at " + first);
        }
    }

    @Test
    void theFirstTokenNeedsThePreparedPrompt() {
        try (MeasuredRequest request = new MeasuredRequest(model, CudaLlavaBench.LLAVA_PROMPT, input, PruningPlan.none(),
                STEPS, SessionOptions.AUTO_PREFILL_CHUNK)) {
            assertThrows(IllegalStateException.class, request::firstToken);
        }
    }
}
