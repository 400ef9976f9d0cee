package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.cuda.timeline.PassSummary;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import dev.glimpse.kernels.cuda.timeline.TimelineUnavailableException;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The kernel timeline ({@link KernelTimeline}, CUPTI) of real decoder passes, as
 * {@code CudaLlavaBench --timeline} records them: the 3-layer BF16 Llama fixture's 24-row prefill
 * (its fourth, replayed from the prefill graph, {@code glimpse.cuda.prefillGraphs=true}) and a replayed decode step (the fourth of a
 * session) each come back as kernels of a CUDA graph that the summarizer splits into the
 * decoder's 3 layers. The timeline starts before the backend, so every graph is instantiated
 * while CUPTI records. Fails rather than skips when a GPU is here but CUPTI is not.
 */
class CudaKernelTimelineModelTest {

    private static final String FIXTURE = "decoder-llama-bf16";
    private static final int ROWS = 24;
    private static final int WARM_CALLS = 3;

    @AfterEach
    void propertiesBack() {
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
    }

    @Test
    void aReplayedPrefillAndDecodeStepSplitIntoTheDecodersLayers() {
        CudaSupport.requireCuda();
        System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
        Path folder = DecoderFixture.folder(FIXTURE);
        TextConfig config = TextConfig.load(folder.resolve("config.json"));
        try (KernelTimeline timeline = start();
             CudaBackend backend = (CudaBackend) Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, config);
             Tensor embeddings = decoder.embed(ids(config.vocabSize()))) {
            int[] positions = new int[ROWS];
            for (int i = 0; i < ROWS; i++) {
                positions[i] = i;
            }
            for (int call = 0; call < WARM_CALLS; call++) { // op by op, captured, replayed
                try (DecoderSession session = decoder.newSession(SessionOptions.of(ROWS + 8))) {
                    session.prefill(embeddings, positions, null);
                    session.greedyToken();
                }
            }
            try (DecoderSession session = decoder.newSession(SessionOptions.of(ROWS + 8))) {
                PassTimeline prefill = timeline.record("prefill " + ROWS + " rows", backend::synchronize,
                        () -> session.prefill(embeddings, positions, null));
                assertLayers(prefill, config.numHiddenLayers());
                int token = session.greedyToken();
                for (int step = 0; step < WARM_CALLS; step++) { // op by op, captured, replayed
                    session.decode(token);
                    token = session.greedyToken();
                }
                int last = token;
                PassTimeline decode = timeline.record("decode step", backend::synchronize, () -> {
                    session.decode(last);
                    session.greedyToken();
                });
                assertLayers(decode, config.numHiddenLayers());
            }
        }
    }

    private static void assertLayers(PassTimeline pass, int layers) {
        PassSummary summary = PassSummary.of(pass, null);
        System.out.println("TIMELINE " + summary.json());
        summary.table().forEach(line -> System.out.println("TIMELINE " + line));
        assertTrue(pass.kernels().stream().anyMatch(k -> k.graphId() != 0), pass.pass() + ": no kernel of a graph");
        assertEquals(layers, summary.split().layers(), pass.pass() + ": layers found in " + summary.json());
        assertEquals(pass.wallNs(), summary.leadNs() + summary.spanNs() + summary.tailNs(), pass.pass());
    }

    private static int[] ids(int vocab) {
        int[] ids = new int[ROWS];
        for (int i = 0; i < ROWS; i++) {
            ids[i] = (i * 37 + 5) % vocab;
        }
        return ids;
    }

    private static KernelTimeline start() {
        try {
            return KernelTimeline.start();
        } catch (TimelineUnavailableException e) {
            return fail("a GPU is here but CUPTI is not usable: " + e.getMessage());
        }
    }
}
