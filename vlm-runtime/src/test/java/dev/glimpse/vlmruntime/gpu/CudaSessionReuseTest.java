package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionReuse;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;

/**
 * On the GPU, a session on the buffers a closed session left (stale keys beyond the cache
 * lengths, stale scratch, the decode graph re-captured over the same addresses) gives the logits
 * of a session on freshly allocated, zeroed buffers bit for bit, graphs on and off.
 */
class CudaSessionReuseTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2-bf16"})
    void reusedBuffersGiveFreshLogitsBitForBit(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            for (boolean graphs : new boolean[] {true, false}) {
                System.setProperty(DecoderSession.GRAPHS_PROPERTY, Boolean.toString(graphs));
                SessionReuse.assertReusedBuffersGiveFreshLogits(decoder, new int[] {1, 5, 9, 2}, new int[] {6, 6}, 3,
                        name + " graphs=" + graphs + " ");
                System.out.println("PARITY session reuse " + name + " graphs=" + graphs + " exact");
            }
        } finally {
            System.clearProperty(DecoderSession.GRAPHS_PROPERTY);
        }
    }
}
