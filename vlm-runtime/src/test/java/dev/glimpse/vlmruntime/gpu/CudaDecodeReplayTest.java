package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decode steps replayed from a CUDA graph (device-resident token id, positions and cache lengths)
 * give the logits of steps launched op by op (within 1e-4: the replayed step's attention kernel sums
 * in another order), across a second prefill between decode runs (the
 * graph is reused while the cache grows), and the device argmax equals the host's.
 */
class CudaDecodeReplayTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void replayedDecodeStepsMatchEagerSteps(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            List<float[]> replayed = steps(decoder, true);
            List<float[]> eager = steps(decoder, false);
            assertEquals(eager.size(), replayed.size());
            for (int i = 0; i < eager.size(); i++) {
                float diff = maxAbsDiff(replayed.get(i), eager.get(i));
                assertTrue(diff <= 1e-4f, "step " + i + ": replayed logits differ from eager by " + diff);
            }
        }
    }

    private static List<float[]> steps(Decoder decoder, boolean graphs) {
        System.setProperty(DecoderSession.GRAPHS_PROPERTY, Boolean.toString(graphs));
        List<float[]> out = new ArrayList<>();
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            session.prefill(new int[] {1, 5, 9, 2});
            for (int round = 0; round < 2; round++) {
                for (int i = 0; i < 6; i++) {
                    float[] logits = new float[vocab];
                    session.copyLogits(logits);
                    int token = session.greedyToken();
                    assertEquals(DecoderFixture.argmax(logits), token, "device argmax vs host argmax");
                    out.add(logits);
                    session.decode(token);
                }
                session.prefill(new int[] {3, 7});
            }
            float[] last = new float[vocab];
            session.copyLogits(last);
            out.add(last);
        } finally {
            System.clearProperty(DecoderSession.GRAPHS_PROPERTY);
        }
        return out;
    }
}
