package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.CheckpointException;
import dev.glimpse.kernels.io.SafetensorsWriter;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The decoder's weights under every known HF prefix and in every float dtype. */
class WeightLayoutTest {

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"model.language_model., lm_head.weight, F32, 1e-3",
            "language_model.model., language_model.lm_head.weight, F32, 1e-3",
            "model.language_model., lm_head.weight, F16, 2e-2",
            "model., lm_head.weight, BF16, 0.3"})
    void loadsEveryPrefixAndDtype(String prefix, String lmHead, DType dtype, float tolerance) throws IOException {
        try (DecoderFixture f = DecoderFixture.open("decoder-llama")) {
            SafetensorsWriter writer = new SafetensorsWriter();
            for (String name : f.checkpoint().names()) {
                String renamed = name.equals("lm_head.weight") ? lmHead : prefix + name.substring("model.".length());
                Tensor t = f.checkpoint().tensor(name);
                writer.add(renamed, dtype, t.toFloatArray(), t.shape());
            }
            writer.write(dir.resolve("model.safetensors"));
            Files.copy(DecoderFixture.folder("decoder-llama").resolve("config.json"), dir.resolve("config.json"));
            try (Checkpoint checkpoint = Checkpoint.open(dir);
                 Decoder decoder = Decoder.load(new CpuBackend(), checkpoint, TextConfig.load(dir.resolve("config.json")));
                 DecoderSession session = decoder.newSession(SessionOptions.of(32))) {
                assertEquals(dtype, decoder.weights().layers().get(0).q().dtype());
                session.prefill(f.inputIds());
                float diff = maxAbsDiff(floats(f.expected().get("last_logits")), session.logits().toFloatArray());
                assertTrue(diff <= tolerance, prefix + " " + dtype + ": max |diff| " + diff);
            }
        }
    }

    @Test
    void missingDecoderIsReportedWithTheNamesTried() throws IOException {
        new SafetensorsWriter().add("vision_tower.weight", DType.F32, new float[] {1}, 1).write(dir.resolve("model.safetensors"));
        try (Checkpoint checkpoint = Checkpoint.open(dir)) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> WeightNames.resolve(checkpoint));
            assertTrue(e.getMessage().contains("language_model.model.embed_tokens.weight"), e.getMessage());
        }
    }
}
