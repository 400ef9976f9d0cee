package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphProbe;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only (skipped without CUDA): {@code -Dglimpse.cuda.prefillRopeAttention=true} (a short prefill block's
 * RoPE, KV cache append and attention in one launch, {@link CudaBackend#ropeAppendAttention}) against the
 * default, on one CUDA backend and decoder (so the same cuBLASLt choices): synthetic BF16 decoders (head dim 64:
 * a multi-head Llama with biases, a grouped-query Qwen2), each request a prefill then {@value #DECODE_STEPS}
 * greedy decode steps (which read the cache the prefill wrote). The kernel stores the pair's bits, so the logits
 * of every step must be bit-identical: at 74 rows (LLaVA-7B's 64 VTC-CLS tokens plus text), 16 and 128 (the
 * limit), 129 (past it: the pair runs), in prefill chunks of 32 (a cached prefix, start > 0, and a last chunk of
 * 10 rows, which the kernel declines), and replayed from prefill graphs (op by op, captured, replayed: the graph
 * captured with the fused kernel).
 */
class CudaPrefillRopeAttentionModelTest {

    private static final int DECODE_STEPS = 3;

    @TempDir
    Path dir;

    @AfterEach
    void clearProperties() {
        System.clearProperty(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY);
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
    }

    @ParameterizedTest(name = "{0} rows={1} chunk={2}")
    @CsvSource({"llama, 74, 0", "llama, 16, 0", "llama, 128, 0", "llama, 129, 0", "llama, 74, 32",
            "qwen2, 74, 0", "qwen2, 128, 0", "qwen2, 74, 32"})
    void fusedPrefillGivesTheSameLogits(String family, int rows, int chunk) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 23, 1024);
        SessionOptions options = SessionOptions.of(256);
        SessionOptions chunked = chunk > 0 ? options.withPrefillChunkSize(chunk) : options;
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            CudaBackend cuda = (CudaBackend) backend;
            long before = cuda.ropeAppendAttentionLaunches();
            Run off = request(decoder, rows, chunked, "false");
            assertEquals(before, cuda.ropeAppendAttentionLaunches(), "the fused kernel ran with the property off");
            Run on = request(decoder, rows, chunked, "true");
            long fused = cuda.ropeAppendAttentionLaunches() - before;
            int layers = decoder.config().numHiddenLayers();
            // One launch per layer and prefill chunk the kernel takes: chunks of 16 .. 128 rows (a last chunk of
            // fewer than 16 rows, or a prefill past the limit, runs the pair).
            int taken = chunk > 0 ? rows / chunk : (rows <= CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS ? 1 : 0);
            assertEquals((long) taken * layers, fused, "fused launches (layers x chunks the kernel takes)");
            assertSameLogits(family + " rows=" + rows + " chunk=" + chunk, off, on);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void replayedPrefillGraphsGiveTheSameLogits(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 29, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            Run off = request(decoder, 74, SessionOptions.of(256), "false");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            int[] held = {0, 1, 1};
            for (int r = 0; r < held.length; r++) {
                String label = family + " graphs request " + r + " (op by op, captured, replayed)";
                Run on = request(decoder, 74, SessionOptions.of(256), "true");
                assertEquals(held[r], on.graphsHeld(), label + ": graphs held after its prefill");
                assertSameLogits(label, off, on);
            }
        }
    }

    /** A request's logits (the prefill's, then each decode step's) and the prefill graphs its session held after the prefill. */
    private record Run(float[][] logits, int graphsHeld) {
    }

    /**
     * Logits of a new session's prefill of {@code rows} tokens, then of {@value #DECODE_STEPS} greedy steps, with
     * {@code -Dglimpse.cuda.prefillRopeAttention} set to {@code fused} for the prefill.
     */
    private static Run request(Decoder decoder, int rows, SessionOptions options, String fused) {
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (i * 37 + 5) % SyntheticDecoders.VOCAB;
        }
        int vocab = decoder.config().vocabSize();
        try (Tensor embeddings = decoder.embed(ids); DecoderSession session = decoder.newSession(options)) {
            float[][] logits = new float[DECODE_STEPS + 1][vocab];
            int[] positions = new int[rows];
            for (int i = 0; i < rows; i++) {
                positions[i] = i;
            }
            System.setProperty(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY, fused);
            session.prefill(embeddings, positions, null);
            System.clearProperty(CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY);
            int graphsHeld = PrefillGraphProbe.graphsHeld(session);
            for (int step = 0; step <= DECODE_STEPS; step++) {
                if (step > 0) {
                    session.decode(session.greedyToken());
                }
                session.copyLogits(logits[step]);
            }
            assertEquals(rows + DECODE_STEPS, session.length(), "tokens in the session");
            return new Run(logits, graphsHeld);
        }
    }

    private static void assertSameLogits(String label, Run off, Run on) {
        for (int step = 0; step < off.logits().length; step++) {
            assertArrayEquals(off.logits()[step], on.logits()[step], label + " step " + step + ": logits with the fused kernel");
        }
    }
}
