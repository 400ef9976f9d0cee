package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** A checkpoint whose config.json uses transformers 4.x spelling loads to the same model as the 5.x one. */
class LlavaConfigSpellingTest {

    @TempDir
    Path dir;

    @Test
    void transformers4ConfigGivesTheSameIdsAndLogits() throws IOException {
        LlavaFixture fixture = LlavaFixture.open("llava-siglip-qwen2");
        try (Stream<Path> files = Files.list(fixture.folder())) {
            for (Path f : files.toList()) {
                String name = f.getFileName().toString();
                if (!name.startsWith("config")) {
                    Files.copy(f, dir.resolve(name));
                }
            }
        }
        Files.copy(fixture.folder().resolve("config.v4.json"), dir.resolve("config.json"));
        Result v5 = run(fixture.folder(), fixture);
        Result v4 = run(dir, fixture);
        assertEquals(v5.model(), v4.model());
        assertArrayEquals(v5.ids(), v4.ids());
        // The claim here is that both spellings load the same model; the tolerance keeps this test
        // about configs, not about run-to-run determinism of the kernels (see kernels' Lanes).
        assertArrayEquals(v5.logits(), v4.logits(), 1e-5f);
    }

    private record Result(String model, int[] ids, float[] logits) {
    }

    private static Result run(Path folder, LlavaFixture fixture) {
        try (CpuBackend backend = new CpuBackend();
             LlavaModel model = LlavaModel.load(folder, backend);
             PreparedPrompt prompt = model.prepare(fixture.testCase(0).get("prompt").asText(), fixture.visualInput(0),
                     ProjectorInputHook.KEEP_ALL, true);
             DecoderSession session = model.decoder().newSession(SessionOptions.of(prompt.inputIds().length))) {
            session.prefill(prompt.embeddings(), prompt.positions(), null);
            float[] logits = new float[model.config().text().vocabSize()];
            session.copyLogits(logits);
            String description = model.config() + " " + model.processorConfig();
            return new Result(description, prompt.inputIds(), logits);
        }
    }
}
