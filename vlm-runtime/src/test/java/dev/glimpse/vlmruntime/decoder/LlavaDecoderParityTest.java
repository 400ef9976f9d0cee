package dev.glimpse.vlmruntime.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.vlmruntime.config.LlavaConfig;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.vlmruntime.generate.GenerationResult;
import dev.glimpse.vlmruntime.generate.Generator;
import dev.glimpse.vlmruntime.generate.PromptInput;
import dev.glimpse.vlmruntime.generate.TokenListener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder inside real LLaVA checkpoints (fixtures/llava-*, HF 4.x weight names): text
 * embeddings with HF's projector output scattered into the image-token positions (as
 * {@code LlavaModel.forward}'s {@code masked_scatter}) give HF's last logits and greedy tokens.
 */
class LlavaDecoderParityTest {

    @ParameterizedTest(name = "{0} case {1}")
    @CsvSource({"llava-clip-llama, 0", "llava-clip-llama, 3", "llava-siglip-qwen2, 0", "llava-siglip-qwen2, 2"})
    void decoderOnSplicedEmbeddingsMatchesHf(String fixture, int index) throws IOException {
        Path folder = DecoderFixture.folder(fixture);
        JsonNode expected = new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
        JsonNode testCase = expected.get("cases").get(index);
        int imageToken = expected.get("image_token_id").asInt();
        LlavaConfig config = LlavaConfig.load(folder.resolve("config.json"));
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             SafetensorsFile arrays = SafetensorsFile.open(folder.resolve("expected.safetensors"));
             Decoder decoder = Decoder.load(new CpuBackend(), checkpoint, config.text());
             DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            int[] ids = ints(testCase.get("input_ids"));
            String prefix = "case" + index + ".";
            try (Tensor embeddings = decoder.embed(ids)) {
                if (arrays.has(prefix + "projector_output")) {
                    Tensor features = arrays.tensor(prefix + "projector_output");
                    Tensor rows = features.reshape(-1, features.dim(-1));
                    int next = 0;
                    for (int t = 0; t < ids.length; t++) {
                        if (ids[t] == imageToken) {
                            rows.select(0, next++).copyElementsTo(embeddings.select(0, t));
                        }
                    }
                    assertTrue(next == rows.dim(0), "image tokens " + next + " vs features " + rows.dim(0));
                }
                GenerationResult result = new Generator(decoder, null).generate(session,
                        new PromptInput(embeddings, session.consecutivePositions(ids.length), ids, null),
                        GenerationOptions.greedy(8).withEosTokenIds(List.of()), new TokenListener() {
                            private boolean first = true;

                            @Override
                            public void onToken(int id, String text) {
                                if (first) {
                                    first = false;
                                    float diff = maxAbsDiff(arrays.tensor(prefix + "last_logits").toFloatArray(),
                                            session.logits().toFloatArray());
                                    assertTrue(diff <= 1e-3f, fixture + " case " + index + ": max |diff| " + diff);
                                }
                            }
                        });
                assertArrayEquals(ints(testCase.get("greedy_ids")), result.tokens());
            }
        }
    }
}
