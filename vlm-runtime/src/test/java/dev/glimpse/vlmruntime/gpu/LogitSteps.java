package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;
import dev.glimpse.vlmruntime.llava.VisualInput;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;

/**
 * Logits of greedy steps on a decoder or a LLaVA fixture, for tests that compare two settings of a
 * switch step by step (the same requests, so any difference is the switch's).
 */
final class LogitSteps {

    private LogitSteps() {
    }

    /** Logits of every greedy step of the fixture case, HF's tokens fed back. */
    static float[][] llavaSteps(LlavaModel model, JsonNode c, Path folder, int[] hfGreedy) {
        int vocab = model.config().text().vocabSize();
        float[][] logits = new float[hfGreedy.length][vocab];
        try (PreparedPrompt prompt = model.prepare(c.get("prompt").asText(), visualInput(c, folder),
                ProjectorInputHook.KEEP_ALL, true);
             DecoderSession session = model.decoder().newSession(
                     SessionOptions.of(prompt.inputIds().length + hfGreedy.length))) {
            session.prefill(prompt.embeddings(), prompt.positions(), null);
            for (int step = 0; step < hfGreedy.length; step++) {
                session.copyLogits(logits[step]);
                if (step + 1 < hfGreedy.length) {
                    session.decode(hfGreedy[step]);
                }
            }
        }
        return logits;
    }

    /** Logits after prefilling all ids but the last two, then after decoding each of those. */
    static float[][] decoderSteps(Backend backend, Path folder, int[] ids) {
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(SessionOptions.of(ids.length + 8))) {
            float[][] logits = new float[3][decoder.config().vocabSize()];
            session.prefill(Arrays.copyOf(ids, ids.length - 2));
            session.copyLogits(logits[0]);
            for (int i = 1; i <= 2; i++) {
                session.decode(ids[ids.length - 3 + i]);
                session.copyLogits(logits[i]);
            }
            return logits;
        }
    }

    static VisualInput visualInput(JsonNode c, Path folder) {
        List<RgbImage> images = new ArrayList<>();
        for (JsonNode f : c.get("images")) {
            images.add(PngFixtures.decode(folder.resolve(f.asText())));
        }
        return new VisualInput.Images(images);
    }

    /** The first logits after a prefill and the greedy tokens of {@code count} steps, the model's own tokens fed back. */
    record Greedy(float[] lastLogits, int[] greedy) {
    }

    /** Prefills {@code inputIds} in a session of {@code options} and decodes {@code count} greedy tokens ({@link Greedy}). */
    static Greedy greedy(Backend backend, Path folder, int[] inputIds, int count, SessionOptions options) {
        try (Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")));
             DecoderSession session = decoder.newSession(options)) {
            session.prefill(inputIds);
            float[] logits = new float[decoder.config().vocabSize()];
            session.copyLogits(logits);
            float[] last = logits.clone();
            int[] greedy = new int[count];
            for (int i = 0; i < count; i++) {
                if (i > 0) {
                    session.copyLogits(logits);
                }
                greedy[i] = argmax(logits);
                if (i + 1 < count) {
                    session.decode(greedy[i]);
                }
            }
            return new Greedy(last, greedy);
        }
    }
}
