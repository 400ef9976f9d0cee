package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;
import dev.glimpse.vlmruntime.llava.VisualInput;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.argmax;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder MLP in HF's 16-bit roundings ({@code -Dglimpse.cuda.mlp16}, on by default, {@link CudaBackend#mlp16Enabled}) on
 * the bf16 fixtures against HF: the decoder fixtures (tiny Llama with GQA, Qwen2 with q/k/v biases; prompts of 23
 * tokens, so the prefill takes the 16-bit path) and every case of the bf16 LLaVA CLIP fixture (26-token prompts,
 * then HF's greedy tokens fed back). With the flag on the logits change (the path ran), stay within the parity
 * tests' bf16 tolerances of HF with HF's tokens while HF's margins are clear, and are on average at least as close
 * to HF as with the flag off (mean |logit - HF| within 10% of the F32 path's, {@code =false}: the two paths still differ from HF
 * by its bf16 residual stream and RMSNorm roundings, which neither has). A prefill in chunks of 10 (16-bit
 * chunks and a 3-row F32 tail) keeps HF's tokens too; the CPU backend ignores the flag.
 */
class CudaDecoderMlp16Test {

    private static final float DECODER_TOLERANCE = 0.25f;
    private static final float LLAVA_TOLERANCE = 0.4f;
    private static final double DECODER_MARGIN = 0.1;
    private static final double LLAVA_MARGIN = 1e-2;
    /** Mean |logit - HF| the flag may reach, as a multiple of the F32 path's ({@code mlp16=false}). */
    private static final double MEAN_ERROR_SLACK = 1.10;
    private static final String LLAVA_FIXTURE = "llava-clip-llama-bf16";

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void decoderFixtureWithMlp16StaysAtLeastAsCloseToHf(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        JsonNode expected = expected(folder);
        int[] input = ints(expected.get("input_ids"));
        int[] hfTokens = ints(expected.get("greedy_tokens"));
        float[] hfLogits = floats(expected.get("last_logits"));
        LogitSteps.Greedy off;
        LogitSteps.Greedy on;
        LogitSteps.Greedy chunked;
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            off = withMlp16("false", () -> decode(backend, folder, input, hfTokens.length, 0));
            on = withMlp16("true", () -> decode(backend, folder, input, hfTokens.length, 0));
            chunked = withMlp16("true", () -> decode(backend, folder, input, hfTokens.length, 10));
        }
        int compared = 0;
        JsonNode margins = expected.get("greedy_top2_margins");
        while (compared < hfTokens.length && margins.get(compared).asDouble() > DECODER_MARGIN) {
            compared++;
        }
        double offMean = meanAbsDiff(off.lastLogits(), hfLogits);
        double onMean = meanAbsDiff(on.lastLogits(), hfLogits);
        System.out.printf("GPU-PARITY %s mlp16: last logits max|cuda-hf| f32 gate/up %.3g mlp16 %.3g chunked %.3g;"
                        + " mean|cuda-hf| f32 gate/up %.4g mlp16 %.4g; greedy mlp16 %s chunked %s hf %s (compared %d)%n", name,
                maxAbsDiff(off.lastLogits(), hfLogits), maxAbsDiff(on.lastLogits(), hfLogits),
                maxAbsDiff(chunked.lastLogits(), hfLogits), offMean, onMean, Arrays.toString(on.greedy()),
                Arrays.toString(chunked.greedy()), Arrays.toString(hfTokens), compared);
        assertFalse(Arrays.equals(off.lastLogits(), on.lastLogits()), name + ": mlp16 changed no logit (the path did not run)");
        assertTrue(maxAbsDiff(on.lastLogits(), hfLogits) <= DECODER_TOLERANCE, name + ": mlp16 logits vs HF");
        assertTrue(maxAbsDiff(chunked.lastLogits(), hfLogits) <= DECODER_TOLERANCE, name + ": chunked mlp16 logits vs HF");
        assertArrayEquals(Arrays.copyOf(hfTokens, compared), Arrays.copyOf(on.greedy(), compared), "mlp16 greedy vs HF");
        assertArrayEquals(Arrays.copyOf(hfTokens, compared), Arrays.copyOf(chunked.greedy(), compared),
                "chunked mlp16 greedy vs HF");
        assertTrue(onMean <= MEAN_ERROR_SLACK * offMean, name + ": mlp16 mean |logit - HF| " + onMean
                + " vs F32 gate/up's " + offMean);
    }

    @Test
    void llavaBf16FixtureWithMlp16StaysAtLeastAsCloseToHf() {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(LLAVA_FIXTURE);
        JsonNode expected = expected(folder);
        double offSum = 0;
        double onSum = 0;
        try (VisionLanguageModel model = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            for (int index = 0; index < expected.get("cases").size(); index++) {
                JsonNode c = expected.get("cases").get(index);
                int[] hfGreedy = ints(c.get("greedy_ids"));
                float[] hfScores = array(folder, "case" + index + ".greedy_scores");
                Stepped off = withMlp16("false", () -> step(model.llava(), c, folder, hfGreedy));
                Stepped on = withMlp16("true", () -> step(model.llava(), c, folder, hfGreedy));
                int stable = stablePrefix(c.get("greedy_margins"));
                int vocab = on.logits.length / hfGreedy.length;
                float[] stepsVsHf = new float[stable];
                double offCase = 0;
                double onCase = 0;
                for (int s = 0; s < stable; s++) {
                    float[] hf = Arrays.copyOfRange(hfScores, s * vocab, (s + 1) * vocab);
                    float[] g = Arrays.copyOfRange(on.logits, s * vocab, (s + 1) * vocab);
                    stepsVsHf[s] = maxAbsDiff(g, hf);
                    onCase += meanAbsDiff(g, hf);
                    offCase += meanAbsDiff(Arrays.copyOfRange(off.logits, s * vocab, (s + 1) * vocab), hf);
                }
                System.out.printf("GPU-PARITY %s case %d mlp16: greedy %s hf %s (compared %d); per step max|cuda-hf| %s;"
                                + " mean|cuda-hf| over those steps f32 gate/up %.4g mlp16 %.4g%n", LLAVA_FIXTURE, index,
                        Arrays.toString(on.greedy()), Arrays.toString(hfGreedy), stable, Arrays.toString(stepsVsHf),
                        offCase / Math.max(1, stable), onCase / Math.max(1, stable));
                assertFalse(Arrays.equals(off.logits, on.logits), "case " + index + ": mlp16 changed no logit");
                assertArrayEquals(Arrays.copyOf(hfGreedy, stable), Arrays.copyOf(on.greedy(), stable),
                        "case " + index + ": mlp16 greedy vs HF");
                for (int s = 0; s < stable; s++) {
                    assertTrue(stepsVsHf[s] <= LLAVA_TOLERANCE, "case " + index + " step " + s + ": logits differ from HF by "
                            + stepsVsHf[s]);
                }
                offSum += offCase;
                onSum += onCase;
            }
        }
        System.out.printf("GPU-PARITY %s mlp16: mean|cuda-hf| over every case's stable steps, f32 gate/up %.4g mlp16 %.4g%n",
                LLAVA_FIXTURE, offSum, onSum);
        assertTrue(onSum <= MEAN_ERROR_SLACK * offSum, "mlp16 mean |logit - HF| " + onSum + " vs F32 gate/up's " + offSum);
    }

    /** The flag is CUDA-only: the CPU backend's logits keep their bits. */
    @Test
    void cpuBackendIgnoresTheFlag() {
        Path folder = DecoderFixture.folder("decoder-llama-bf16");
        int[] input = ints(expected(folder).get("input_ids"));
        try (Backend backend = new CpuBackend()) {
            LogitSteps.Greedy off = withMlp16("false", () -> decode(backend, folder, input, 2, 0));
            LogitSteps.Greedy on = withMlp16("true", () -> decode(backend, folder, input, 2, 0));
            assertArrayEquals(off.lastLogits(), on.lastLogits());
            assertArrayEquals(off.greedy(), on.greedy());
        }
    }

    /** Prefill (in chunks of {@code chunk} rows, 0: the default) and {@code count} greedy tokens, our own fed back. */
    private static LogitSteps.Greedy decode(Backend backend, Path folder, int[] inputIds, int count, int chunk) {
        SessionOptions options = chunk > 0 ? SessionOptions.of(64).withPrefillChunkSize(chunk) : SessionOptions.of(64);
        return LogitSteps.greedy(backend, folder, inputIds, count, options);
    }

    /** Greedy choices and logits of every step of a LLaVA case, HF's tokens fed back. */
    private record Stepped(int[] greedy, float[] logits) {
    }

    private static Stepped step(LlavaModel model, JsonNode c, Path folder, int[] hfGreedy) {
        int vocab = model.config().text().vocabSize();
        float[] all = new float[vocab * hfGreedy.length];
        int[] greedy = new int[hfGreedy.length];
        float[] logits = new float[vocab];
        try (PreparedPrompt prompt = model.prepare(c.get("prompt").asText(), new VisualInput.Images(images(c, folder)),
                ProjectorInputHook.KEEP_ALL, true);
             DecoderSession session = model.decoder().newSession(
                     SessionOptions.of(prompt.inputIds().length + hfGreedy.length))) {
            session.prefill(prompt.embeddings(), prompt.positions(), null);
            for (int s = 0; s < hfGreedy.length; s++) {
                session.copyLogits(logits);
                System.arraycopy(logits, 0, all, s * vocab, vocab);
                greedy[s] = argmax(logits);
                if (s + 1 < hfGreedy.length) {
                    session.decode(hfGreedy[s]);
                }
            }
        }
        return new Stepped(greedy, all);
    }

    private static List<RgbImage> images(JsonNode c, Path folder) {
        List<RgbImage> out = new ArrayList<>();
        for (JsonNode f : c.get("images")) {
            out.add(PngFixtures.decode(folder.resolve(f.asText())));
        }
        return out;
    }

    private static int stablePrefix(JsonNode margins) {
        for (int i = 0; i < margins.size(); i++) {
            if (margins.get(i).asDouble() < LLAVA_MARGIN) {
                return i;
            }
        }
        return margins.size();
    }

    private static double meanAbsDiff(float[] a, float[] b) {
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += Math.abs((double) a[i] - b[i]);
        }
        return sum / Math.max(1, a.length);
    }

    /** body's result under {@code -Dglimpse.cuda.mlp16=value}, the property restored after. */
    private static <T> T withMlp16(String value, Supplier<T> body) {
        String previous = System.getProperty(CudaBackend.MLP16_PROPERTY);
        System.setProperty(CudaBackend.MLP16_PROPERTY, value);
        try {
            return body.get();
        } finally {
            if (previous == null) {
                System.clearProperty(CudaBackend.MLP16_PROPERTY);
            } else {
                System.setProperty(CudaBackend.MLP16_PROPERTY, previous);
            }
        }
    }

    private static JsonNode expected(Path folder) {
        try {
            return new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static float[] array(Path folder, String name) {
        try (SafetensorsFile file = SafetensorsFile.open(folder.resolve("expected.safetensors"))) {
            return file.tensor(name).toFloatArray();
        }
    }
}
