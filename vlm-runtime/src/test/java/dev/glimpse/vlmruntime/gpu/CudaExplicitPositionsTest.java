package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A prefill at positions with gaps on the GPU (rotary rows gathered from the device table at those
 * positions, keys cached with them), then a decode step at the last position + 1: logits within
 * 1e-3 of HF's forward with those
 * {@code position_ids} (fixtures/decoder-*&#47;positions.json).
 */
class CudaExplicitPositionsTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama", "decoder-qwen2"})
    void aPrefillWithGapsOnCudaMatchesHfWithThosePositionIds(String name) throws IOException {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        JsonNode hf = new ObjectMapper().readTree(folder.resolve("positions.json").toFile());
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            float[] logits = new float[decoder.config().vocabSize()];
            try (Tensor embeddings = decoder.embed(ints(hf.get("kept_input_ids")))) {
                session.prefill(embeddings, ints(hf.get("position_ids")), null);
            }
            session.copyLogits(logits);
            assertTrue(maxAbsDiff(floats(hf.get("last_logits")), logits) <= 1e-3f,
                    "prefill max |diff| " + maxAbsDiff(floats(hf.get("last_logits")), logits));
            assertEquals(hf.get("next_position").asInt(), session.nextPosition());
            session.decode(hf.get("next_token").asInt());
            session.copyLogits(logits);
            assertTrue(maxAbsDiff(floats(hf.get("next_logits")), logits) <= 1e-3f,
                    "decode max |diff| " + maxAbsDiff(floats(hf.get("next_logits")), logits));
        }
    }
}
