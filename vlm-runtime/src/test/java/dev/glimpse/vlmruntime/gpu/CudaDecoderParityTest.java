package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.floats;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoder fixtures (tiny random Llama with GQA and llama3 rope, Qwen2 with biases and tied
 * embeddings; f32 and bf16) on the GPU: last-position logits against HF and the CPU backend, and
 * the greedy continuation. f32: logits within 1e-3 of HF and the same tokens as HF and the CPU.
 * bf16: the prefill GEMM rounds activations to bf16 on the tensor cores like HF in bf16 and prefill
 * attention runs the bf16 mma kernel ({@code AttentionPrecision.BF16}, HF's sdpa rounding), so
 * logits are compared with HF's bf16 run (within 0.25, as the CPU test allows) and tokens while HF's
 * top-2 margin exceeds 0.1.
 */
class CudaDecoderParityTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"decoder-llama, last_logits, greedy_tokens, 1e-3", "decoder-qwen2, last_logits, greedy_tokens, 1e-3",
            "decoder-llama-bf16, last_logits, greedy_tokens, 0.25", "decoder-qwen2-bf16, last_logits, greedy_tokens, 0.25"})
    void logitsAndGreedyTokensOnCudaMatchHf(String name, String logitsKey, String tokensKey, float tolerance) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        JsonNode expected = expected(folder);
        int[] hfTokens = ints(expected.get(tokensKey));
        boolean bf16 = name.endsWith("bf16");
        LogitSteps.Greedy cuda;
        LogitSteps.Greedy cpu;
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            cuda = LogitSteps.greedy(backend, folder, ints(expected.get("input_ids")), hfTokens.length, SessionOptions.of(64));
        }
        try (Backend backend = new CpuBackend()) {
            cpu = LogitSteps.greedy(backend, folder, ints(expected.get("input_ids")), hfTokens.length, SessionOptions.of(64));
        }
        float vsHf = maxAbsDiff(cuda.lastLogits(), floats(expected.get(logitsKey)));
        float vsCpu = maxAbsDiff(cuda.lastLogits(), cpu.lastLogits());
        int compared = hfTokens.length;
        if (bf16) {
            JsonNode margins = expected.get("greedy_top2_margins");
            compared = 0;
            while (compared < hfTokens.length && margins.get(compared).asDouble() > 0.1) {
                compared++;
            }
        }
        System.out.printf("GPU-PARITY %s (%s): greedy cuda %s cpu %s hf %s (compared %d); last logits max|cuda-hf| %.3g"
                        + " max|cuda-cpu| %.3g%n", name, bf16 ? "bf16" : "f32", Arrays.toString(cuda.greedy()),
                Arrays.toString(cpu.greedy()), Arrays.toString(hfTokens), compared, vsHf, vsCpu);
        assertTrue(vsHf <= tolerance, name + ": logits differ from HF " + logitsKey + " by " + vsHf);
        assertArrayEquals(Arrays.copyOf(hfTokens, compared), Arrays.copyOf(cuda.greedy(), compared), "greedy vs HF");
        if (!bf16) {
            assertArrayEquals(cpu.greedy(), cuda.greedy(), "greedy vs CPU");
        }
    }

    private static JsonNode expected(Path folder) {
        try {
            return new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
