package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@code -Dglimpse.cuda.prefillFusion=true} on the CPU backend changes no bit: o_proj then adds the
 * residual through {@link dev.glimpse.kernels.Backend#linearAddResidual}, whose CPU form is the
 * product then the add of the unfused layer, and RoPE with the cache append stays unfused (a CUDA
 * kernel); prefill and decode logits and every cached key and value are those of the unfused run.
 */
class PrefillFusionCpuTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({"decoder-llama-bf16", "decoder-qwen2-bf16", "decoder-llama"})
    void fusedPrefillOnTheCpuGivesTheUnfusedBits(String fixture) throws Exception {
        Path folder = DecoderFixture.folder(fixture);
        TextConfig config = TextConfig.load(folder.resolve("config.json"));
        try (Checkpoint checkpoint = Checkpoint.open(folder); CpuBackend cpu = new CpuBackend();
             Decoder decoder = Decoder.load(cpu, checkpoint, config); DecoderFixture f = DecoderFixture.open(fixture)) {
            int[] ids = f.inputIds();
            float[][] unfused = run(decoder, ids, "false");
            float[][] fused = run(decoder, ids, "true");
            for (int i = 0; i < unfused.length; i++) {
                assertArrayEquals(unfused[i], fused[i], "output " + i + " (prefill logits, cache of layer 0, decode logits)");
            }
        }
    }

    /** Prefill logits, layer 0's cached keys and values, then the logits after decoding the last id. */
    private static float[][] run(Decoder decoder, int[] ids, String fusion) {
        String previous = System.getProperty(CudaBackend.PREFILL_FUSION_PROPERTY);
        System.setProperty(CudaBackend.PREFILL_FUSION_PROPERTY, fusion);
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            session.prefill(Arrays.copyOf(ids, ids.length - 1));
            float[] prefill = session.logits().toFloatArray();
            int entries = session.cache().length(0);
            float[] keys = session.cache().keys(0, entries).toFloatArray();
            float[] values = session.cache().values(0, entries).toFloatArray();
            session.decode(ids[ids.length - 1]);
            return new float[][] {prefill, keys, values, session.logits().toFloatArray()};
        } finally {
            if (previous == null) {
                System.clearProperty(CudaBackend.PREFILL_FUSION_PROPERTY);
            } else {
                System.setProperty(CudaBackend.PREFILL_FUSION_PROPERTY, previous);
            }
        }
    }
}
