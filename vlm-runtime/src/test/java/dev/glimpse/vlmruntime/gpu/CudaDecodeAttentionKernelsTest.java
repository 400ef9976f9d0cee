package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The decode attention kernels in a whole decoder: graph-replayed decode steps with the online
 * flash-decoding kernel ({@code -Dglimpse.cuda.decodeAttention=online}, and {@code auto} over a
 * cache of 4096+ entries, where auto takes it) give the greedy tokens of the split kernel and
 * logits within 1e-4 relative (the kernels sum the keys in another order), across a second
 * prefill. The parity fixtures' sessions are far shorter than 4096, so without this test the
 * default kernel of long contexts would not run in a model.
 */
class CudaDecodeAttentionKernelsTest {

    @ParameterizedTest(name = "{0} {1} capacity {2}")
    @CsvSource({
            "decoder-llama-bf16, online, 64",
            "decoder-qwen2-bf16, online, 64",
            "decoder-qwen2, online, 64",
            "decoder-llama-bf16, auto, 5000",
            "decoder-qwen2-bf16, auto, 5000"})
    void onlineKernelStepsMatchSplitKernelSteps(String name, String kernel, int capacity) {
        CudaSupport.requireCuda();
        Path folder = DecoderFixture.folder(name);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            DecodeRuns.Run online = DecodeRuns.run(decoder, CudaBackend.DECODE_ATTENTION_PROPERTY, kernel, capacity);
            DecodeRuns.Run split = DecodeRuns.run(decoder, CudaBackend.DECODE_ATTENTION_PROPERTY, "split", capacity);
            System.out.printf("DECODE-ATTENTION %s %s capacity %d: tokens %s, split %s%n", name, kernel, capacity,
                    Arrays.toString(online.tokens()), Arrays.toString(split.tokens()));
            DecodeRuns.assertSameRun(split, online, 1e-4f, "with the " + kernel + " kernel vs split");
        }
    }
}
