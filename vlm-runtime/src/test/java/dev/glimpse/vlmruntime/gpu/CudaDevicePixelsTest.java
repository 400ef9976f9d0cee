package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * GPU-only: {@code -Dglimpse.cuda.devicePixels=true} (8-bit pixels uploaded and normalized on the GPU,
 * {@link LlavaModel#DEVICE_PIXELS_PROPERTY}) gives the prompt embeddings and the prefill's logits of the
 * host-normalized path bit for bit, for every case of the LLaVA (CLIP and SigLIP towers) and LLaVA-OneVision
 * (anyres images stay on the host path, the video's frames move) fixtures. The fixtures' pixels stay under
 * page-locked staging's 1 MiB, so {@code CudaPinnedStagingTest} covers that path.
 */
class CudaDevicePixelsTest {

    @AfterEach
    void clearProperties() {
        System.clearProperty(LlavaModel.DEVICE_PIXELS_PROPERTY);
    }

    private record Result(float[] embeddings, float[] logits) {
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"llava-clip-llama", "llava-clip-llama-bf16", "llava-siglip-qwen2", "llava-onevision-qwen2"})
    void devicePixelsGiveTheHostPathsBits(String name) throws IOException {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        JsonNode cases = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases");
        try (VisionLanguageModel vlm = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            LlavaModel model = vlm.llava();
            for (JsonNode c : cases) {
                if (!c.has("images") && !c.has("video_frames")) {
                    continue;
                }
                String prompt = c.get("prompt").asText();
                VisualInput input = CudaLlavaParityTest.visualInput(c, folder);
                Result host = run(model, prompt, input, false);
                Result device = run(model, prompt, input, true);
                String what = name + " '" + prompt.strip() + "'";
                assertArrayEquals(host.embeddings(), device.embeddings(), 0f, what + ": embeddings");
                assertArrayEquals(host.logits(), device.logits(), 0f, what + ": logits");
                System.out.println("PARITY device pixels " + what + " exact");
            }
        }
    }

    private static Result run(LlavaModel model, String prompt, VisualInput input, boolean devicePixels) {
        System.setProperty(LlavaModel.DEVICE_PIXELS_PROPERTY, Boolean.toString(devicePixels));
        float[] logits = new float[model.config().text().vocabSize()];
        try (PreparedPrompt prepared = model.prepare(prompt, input, ProjectorInputHook.KEEP_ALL, true);
             DecoderSession session = model.decoder().newSession(SessionOptions.of(prepared.inputIds().length));
             Tensor embeddings = model.backend().download(prepared.embeddings())) {
            session.prefill(prepared.embeddings(), prepared.positions(), null);
            session.copyLogits(logits);
            return new Result(embeddings.toFloatArray(), logits);
        }
    }
}
