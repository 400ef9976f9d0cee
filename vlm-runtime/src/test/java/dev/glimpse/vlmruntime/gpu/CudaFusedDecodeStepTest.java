package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The CUDA decode step with the fused decode ops ({@code -Dglimpse.cuda.fusedDecode}, default on)
 * and without gives the same greedy tokens and logits within 1e-4 relative (the fused q/k/v GEMV
 * may order F32 sums differently), across a second prefill. The bf16 fixtures have 16-bit
 * weights, so their replayed steps run the fused kernels; every step is graph-replayed (the
 * first of a run eagerly through the same ops).
 */
class CudaFusedDecodeStepTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"decoder-llama-bf16", "decoder-qwen2-bf16"})
    void fusedDecodeStepsMatchUnfusedSteps(String name) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            DecodeRuns.Run fused = DecodeRuns.run(decoder, CudaBackend.FUSED_DECODE_PROPERTY, "true", 64);
            DecodeRuns.Run unfused = DecodeRuns.run(decoder, CudaBackend.FUSED_DECODE_PROPERTY, "false", 64);
            System.out.printf("FUSED-DECODE %s: tokens fused %s unfused %s%n", name, Arrays.toString(fused.tokens()),
                    Arrays.toString(unfused.tokens()));
            DecodeRuns.assertSameRun(unfused, fused, 1e-4f, "with and without the fused decode step");
        }
    }
}
