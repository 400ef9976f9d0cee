package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
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
 * The small-row prefill's L2 prefetches ({@code -Dglimpse.cuda.prefillL2Prefetch=true|bulk}: each
 * layer forks a prefetch of its q/k/v, o_proj, gate/up and down_proj weights on a side stream
 * before the small kernels that precede each GEMM) against the same prefill without them, on one
 * CUDA backend and decoder (so the same cuBLASLt choices), at LLaVA-1.5-7B's 64-token-budget prompt
 * length (74 rows) on a multi-head Llama and a grouped-query Qwen2 ({@link SyntheticDecoders}): a
 * prefetch writes nothing, so the prefill logits and three greedy decode steps after it (which read
 * the KV cache the prefill wrote) are bit-identical, op by op and from prefill graphs
 * ({@code -Dglimpse.cuda.prefillGraphs=true}: the first request op by op, the second captured with
 * the prefetch branches, the third replayed). The eager prefill must fork four prefetches per layer
 * (proof that the path ran) and the decode steps none; a prefill of {@code 300} rows (past
 * {@code PrefillL2Prefetch.MAX_ROWS}) forks none.
 */
class CudaPrefillL2PrefetchTest {

    private static final int DECODE_STEPS = 3;
    private static final int LAYERS = 2;
    private static final int PREFETCHES_PER_LAYER = 4;

    @TempDir
    Path dir;

    @AfterEach
    void propertiesBack() {
        System.clearProperty(CudaBackend.PREFILL_L2_PREFETCH_PROPERTY);
        System.clearProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY);
    }

    /** A request's prefill logits then each decode step's, its greedy tokens, and the prefetches its prefill and its decode steps forked. */
    private record Run(float[][] logits, int[] tokens, long prefillPrefetches, long decodePrefetches) {
    }

    @ParameterizedTest(name = "{0} prefetch={1}")
    @CsvSource({"llama, true", "llama, bulk", "qwen2, true", "qwen2, bulk"})
    void prefetchingPrefillsGiveTheSameLogitsEagerAndFromGraphs(String family, String mode) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 19, 1024);
        try (CudaBackend backend = (CudaBackend) Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            String label = family + " prefetch=" + mode;
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            Run off = request(backend, decoder, 74, 0);
            assertEquals(0, off.prefillPrefetches(), label + ": prefetches with the property off");
            System.setProperty(CudaBackend.PREFILL_L2_PREFETCH_PROPERTY, mode);
            Run eager = request(backend, decoder, 74, -1);
            assertEquals(LAYERS * PREFETCHES_PER_LAYER, eager.prefillPrefetches(), label + ": prefetches of the eager prefill");
            assertEquals(0, eager.decodePrefetches(), label + ": prefetches of the decode steps");
            assertSameRun(label + " eager", off, eager);
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            for (int r = 0; r < 3; r++) {
                Run graphed = request(backend, decoder, 74, r);
                assertSameRun(label + " graphs request " + r + " (" + (r == 0 ? "op by op" : r == 1 ? "captured" : "replayed")
                        + ")", off, graphed);
            }
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            assertEquals(0, request(backend, decoder, 300, -1).prefillPrefetches(), label + ": prefetches of a 300-row prefill");
        }
    }

    /**
     * A new session: {@code rows} tokens prefilled, then {@value #DECODE_STEPS} greedy steps. With
     * {@code graphs} at 0 or more, asserts the prefill graphs its buffers hold after the prefill (0 op
     * by op, then 1); -1 skips that.
     */
    private static Run request(CudaBackend backend, Decoder decoder, int rows, int graphs) {
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (i * 37 + 5) % SyntheticDecoders.VOCAB;
        }
        int vocab = decoder.config().vocabSize();
        try (DecoderSession session = decoder.newSession(SessionOptions.of(rows + DECODE_STEPS + 1))) {
            float[][] logits = new float[DECODE_STEPS + 1][vocab];
            int[] tokens = new int[DECODE_STEPS + 1];
            long before = backend.l2PrefetchesForked();
            session.prefill(ids);
            long prefill = backend.l2PrefetchesForked() - before;
            if (graphs >= 0) {
                assertEquals(Math.min(graphs, 1), PrefillGraphProbe.graphsHeld(session), "graphs held after prefill " + graphs);
            }
            for (int step = 0; step <= DECODE_STEPS; step++) {
                if (step > 0) {
                    session.decode(tokens[step - 1]);
                }
                session.copyLogits(logits[step]);
                tokens[step] = session.greedyToken();
            }
            return new Run(logits, tokens, prefill, backend.l2PrefetchesForked() - before - prefill);
        }
    }

    private static void assertSameRun(String label, Run expected, Run actual) {
        for (int step = 0; step < expected.logits().length; step++) {
            assertArrayEquals(expected.logits()[step], actual.logits()[step], label + " step " + step + ": logits");
        }
        assertArrayEquals(expected.tokens(), actual.tokens(), label + ": greedy tokens");
        System.out.println("GPU-PARITY prefill-l2-prefetch " + label + ": bit-identical to no prefetch");
    }
}
