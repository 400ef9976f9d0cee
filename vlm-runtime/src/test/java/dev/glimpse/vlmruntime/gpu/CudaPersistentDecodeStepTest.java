package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaPersistentDecode;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.KvCache;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The persistent decode kernel ({@code -Dglimpse.cuda.decodeMegakernel=true}: every layer of a
 * step in one launch, phases split by a grid barrier) against the per-layer decode step and the
 * CPU backend: synthetic BF16 Qwen2 (grouped-query, q/k/v biases) and Llama (multi-head, q/k/v/o
 * biases) decoders, with an F32 and a BF16 KV cache, prompts of 60 and 190 ids followed by
 * {@value #STEPS} graph-replayed greedy steps, so the key counts cross 64-key chunk boundaries
 * (one chunk to two; three to four). Greedy tokens equal, logits within {@value #VS_LAYERS} of the
 * largest logit of the per-layer step (other F32 summation orders) and, against the CPU's (fed the
 * same tokens; CUDA's prefill rounds GEMM inputs to bf16 and a bf16 cache rounds K and V, the CPU
 * does neither), no further than the per-layer step is plus {@value #VS_CPU}.
 */
class CudaPersistentDecodeStepTest {

    private static final int STEPS = 16;
    private static final float VS_LAYERS = 1e-3f;
    private static final float VS_CPU = 0.05f;

    @TempDir
    Path dir;

    private record Run(int[] tokens, List<float[]> logits) {
    }

    /** {@code length} token ids spread over the synthetic vocabulary, the same for every run. */
    private static int[] prompt(int length) {
        int[] prompt = new int[length];
        for (int i = 0; i < length; i++) {
            prompt[i] = (i * 29 + 3) % SyntheticDecoders.VOCAB;
        }
        return prompt;
    }

    @ParameterizedTest(name = "{0} cache={1} prompt={2}")
    @CsvSource({"qwen2, f32, 60", "qwen2, half, 60", "qwen2, f32, 190", "qwen2, half, 190",
            "llama, f32, 60", "llama, half, 190"})
    void persistentStepsMatchPerLayerStepsAndTheCpu(String family, String cacheMode, int promptLength) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 11, 512);
        int[] prompt = prompt(promptLength);
        String label = family + " cache=" + cacheMode + " prompt=" + promptLength;
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        try {
            Run layers;
            Run persistent;
            try (Backend cuda = Backends.create(Backends.Choice.CUDA);
                 Checkpoint checkpoint = Checkpoint.open(folder);
                 Decoder decoder = Decoder.load(cuda, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
                layers = run(decoder, prompt, "false", null, true);
                persistent = run(decoder, prompt, "true", null, true);
            }
            Run cpu;
            try (Backend host = Backends.create(Backends.Choice.CPU);
                 Checkpoint checkpoint = Checkpoint.open(folder);
                 Decoder decoder = Decoder.load(host, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
                cpu = run(decoder, prompt, "false", layers.tokens(), false);
            }
            System.out.printf("PERSISTENT-DECODE %s: tokens %s vs per-layer %s%n", label,
                    Arrays.toString(persistent.tokens()), Arrays.toString(layers.tokens()));
            assertArrayEquals(layers.tokens(), persistent.tokens(), label + ": greedy tokens");
            assertClose(layers, persistent, VS_LAYERS, label + ": persistent vs per-layer step");
            float perLayerVsCpu = worst(cpu, layers);
            assertClose(cpu, persistent, VS_CPU + perLayerVsCpu, label + ": persistent step vs CPU (per-layer step "
                    + perLayerVsCpu + " from it)");
        } finally {
            System.clearProperty(KvCache.DTYPE_PROPERTY);
        }
    }

    /**
     * The wide persistent kernel ({@code -Dglimpse.cuda.decodeMegakernel=wide}: q/k/v and o_proj over four
     * times the row groups, each row summed as in the other kernel) gives the persistent steps' greedy
     * tokens and logits bit for bit. A per-layer session runs first, so that both compared sessions find
     * every prefill GEMM's algorithm already chosen.
     */
    @ParameterizedTest(name = "{0} cache={1} prompt={2}")
    @CsvSource({"qwen2, half, 190", "llama, f32, 60"})
    void wideStepsGiveThePersistentStepsBits(String family, String cacheMode, int promptLength) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 11, 512);
        int[] prompt = prompt(promptLength);
        String label = family + " cache=" + cacheMode + " prompt=" + promptLength;
        System.setProperty(KvCache.DTYPE_PROPERTY, cacheMode);
        try (Backend cuda = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(cuda, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            run(decoder, prompt, "false", null, true);
            Run persistent = run(decoder, prompt, "true", null, true);
            Run wide = run(decoder, prompt, "wide", null, true);
            assertArrayEquals(persistent.tokens(), wide.tokens(), label + ": greedy tokens");
            for (int i = 0; i < STEPS; i++) {
                assertArrayEquals(persistent.logits().get(i), wide.logits().get(i), label + ": step " + i + " logits");
            }
        } finally {
            System.clearProperty(KvCache.DTYPE_PROPERTY);
        }
    }

    /**
     * Prefill then {@value #STEPS} decode steps with the property set to {@code persistent}; each step
     * decodes {@code forced[i]} when given, else the greedy token. On CUDA, checks that the persistent
     * kernel ran exactly when asked for.
     */
    private static Run run(Decoder decoder, int[] prompt, String persistent, int[] forced, boolean onCuda) {
        System.setProperty(CudaPersistentDecode.PROPERTY, persistent);
        int vocab = decoder.config().vocabSize();
        int[] tokens = new int[STEPS];
        List<float[]> logits = new ArrayList<>();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(512))) {
            session.prefill(prompt);
            for (int i = 0; i < STEPS; i++) {
                tokens[i] = forced == null ? session.greedyToken() : forced[i];
                session.decode(tokens[i]);
                float[] step = new float[vocab];
                session.copyLogits(step);
                logits.add(step);
            }
            if (onCuda) {
                assertEquals(!"false".equals(persistent), session.runsPersistentStep(), "persistent kernel in use");
            }
        } finally {
            System.clearProperty(CudaPersistentDecode.PROPERTY);
        }
        return new Run(tokens, logits);
    }

    private static void assertClose(Run expected, Run actual, float relative, String what) {
        for (int i = 0; i < STEPS; i++) {
            float diff = relativeDiff(expected.logits().get(i), actual.logits().get(i));
            assertTrue(diff <= relative, what + ": step " + i + " logits differ by " + diff + " relative");
        }
    }

    /** The largest per-step logit difference relative to the expected step's largest magnitude. */
    private static float worst(Run expected, Run actual) {
        float worst = 0f;
        for (int i = 0; i < STEPS; i++) {
            worst = Math.max(worst, relativeDiff(expected.logits().get(i), actual.logits().get(i)));
        }
        return worst;
    }

    private static float relativeDiff(float[] expected, float[] actual) {
        float scale = 1f;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        return maxAbsDiff(actual, expected) / scale;
    }
}
