package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillGraphCounters;
import dev.glimpse.vlmruntime.decoder.PrefillGraphProbe;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Padded graph prefills ({@code -Dglimpse.cuda.prefillPadRows=16}) with capacity buckets
 * ({@code -Dglimpse.decoder.capacityBucket=256}), as a serving process would run them: requests of
 * prompt lengths 65 to 96 (in the 80-row bucket: 65, 72, 74 and its exact multiple 80; in the 96-row
 * one: 81, one over the multiple, 90 and 96), each in a new session asking for its prompt plus the
 * decode steps, so every session takes the one pooled set of buffers and its graphs. Per padded
 * bucket the first request runs op by op over the padded rows, the second captures the graph, every
 * later one replays it whatever its length: graphs held and {@link PrefillGraphCounters} say so.
 *
 * <p>Each request's prefill logits and {@value #DECODE_STEPS} decode steps (which read the KV cache
 * the padded graph wrote, past whose real entries its padded rows left theirs) must equal, bit for
 * bit, the same prompt prefilled op by op over the same padded rows without graphs
 * ({@link PrefillGraphProbe#prefillPadded}: the very kernels the graph holds), and to
 * {@value #TOLERANCE} the unpadded op-by-op session of the prompt: the padded prefill's GEMMs run
 * 80 or 96 rows where that one runs the prompt's, and cuBLASLt may pick another algorithm (another
 * summation order) for another row count, whose last-bit differences the BF16 rounding of the next
 * GEMM's inputs can widen to about 1e-3 on these logits of order 1; a real row that read a padded
 * row (a copy of the last token's embedding) would move them by more. Equal bits are printed when
 * they happen. Both runs decode the unpadded run's greedy tokens, so a near tie cannot send them
 * apart. One request feeds its embeddings from host memory (the padded rows then are gathered on the
 * device after the copy). A prompt whose padded rows do not fit its session's cache (no buckets,
 * capacity prompt + 4) runs its exact rows from a graph, bit for bit the op-by-op prefill. A padded key kept op
 * by op (as after a failed capture) runs the prompt's exact rows op by op, bit for bit the unpadded prefill, and
 * never captures.
 */
class CudaPaddedPrefillGraphsTest {

    static final int DECODE_STEPS = 3;
    static final float TOLERANCE = 5e-3f;
    static final int QUANTUM = 16;

    @TempDir
    Path dir;

    private final SavedProperties saved = SavedProperties.of(DecoderSession.PREFILL_GRAPHS_PROPERTY,
            DecoderSession.PREFILL_PAD_ROWS_PROPERTY, DecoderSession.CAPACITY_BUCKET_PROPERTY);

    @AfterEach
    void propertiesBack() {
        saved.close();
    }

    /** A request's logits after its prefill and after each decode step. */
    record Run(float[][] logits) {
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void promptsOfOnePaddedBucketReplayOneGraphWithTheOpByOpLogits(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 29, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            int[] lengths = {74, 74, 65, 80, 72, 81, 90, 96, 74};
            int[] held = {0, 1, 1, 1, 1, 1, 2, 2, 2};
            int hostEmbeddings = 4;
            System.setProperty(DecoderSession.CAPACITY_BUCKET_PROPERTY, "256");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            int[][] tokens = new int[lengths.length][];
            Run[] exact = new Run[lengths.length];
            Run[] padded = new Run[lengths.length];
            for (int r = 0; r < lengths.length; r++) {
                tokens[r] = greedyTokens(decoder, lengths[r], r);
                exact[r] = request(backend, decoder, lengths[r], r, tokens[r], 0, false, s -> { });
                padded[r] = request(backend, decoder, lengths[r], r, tokens[r], roundUp(lengths[r]), false, s -> { });
            }
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, Integer.toString(QUANTUM));
            PrefillGraphCounters.Snapshot before = PrefillGraphCounters.snapshot();
            for (int r = 0; r < lengths.length; r++) {
                int request = r;
                String label = family + " request " + r + " (" + lengths[r] + " rows as " + roundUp(lengths[r]) + ")";
                Run graphed = request(backend, decoder, lengths[r], r, tokens[r], 0, r == hostEmbeddings,
                        s -> assertEquals(held[request], PrefillGraphProbe.graphsHeld(s), label
                                + ": graphs held after its prefill (0: op by op, then captured, then replayed)"));
                assertSameBits(label + " against the padded op-by-op prefill", padded[r], graphed);
                assertClose(label + " against the unpadded op-by-op prefill", exact[r], graphed);
            }
            PrefillGraphCounters.Snapshot counts = PrefillGraphCounters.snapshot().since(before);
            assertEquals(new PrefillGraphCounters.Snapshot(2, 2, 5), counts,
                    family + ": per padded bucket one op-by-op prefill and one capture, every later request replays");
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void aPromptWhosePaddedRowsDoNotFitRunsItsExactRowsFromAGraph(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 31, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            int rows = 74;
            System.setProperty(DecoderSession.CAPACITY_BUCKET_PROPERTY, "0");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            int[] tokens = greedyTokens(decoder, rows, 0);
            Run exact = request(backend, decoder, rows, 0, tokens, 0, false, s -> { });
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, Integer.toString(QUANTUM));
            int[] held = {0, 1, 1};
            for (int r = 0; r < held.length; r++) {
                int request = r;
                String label = family + " request " + r + " (74 rows, room for 78)";
                Run graphed = request(backend, decoder, rows, 0, tokens, 0, false,
                        s -> assertEquals(held[request], PrefillGraphProbe.graphsHeld(s), label + ": graphs held"));
                assertSameBits(label, exact, graphed);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama", "qwen2"})
    void aPaddedKeyKeptOpByOpRunsTheExactRowsWithTheirBits(String family) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 37, 1024);
        try (Backend backend = Backends.create(Backends.Choice.CUDA);
             Checkpoint checkpoint = Checkpoint.open(folder);
             Decoder decoder = Decoder.load(backend, checkpoint, TextConfig.load(folder.resolve("config.json")))) {
            int rows = 74;
            System.setProperty(DecoderSession.CAPACITY_BUCKET_PROPERTY, "256");
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "false");
            int[] tokens = greedyTokens(decoder, rows, 0);
            Run exact = request(backend, decoder, rows, 0, tokens, 0, false, s -> { });
            System.setProperty(DecoderSession.PREFILL_GRAPHS_PROPERTY, "true");
            System.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, Integer.toString(QUANTUM));
            PrefillGraphCounters.Snapshot before = PrefillGraphCounters.snapshot();
            for (int r = 0; r < 3; r++) {
                String label = family + " request " + r + " (74 rows, padded key of 80 kept op by op)";
                Run kept = request(backend, decoder, rows, 0, tokens, 0, false, s -> { }, true);
                assertSameBits(label, exact, kept);
            }
            assertEquals(new PrefillGraphCounters.Snapshot(3, 0, 0), PrefillGraphCounters.snapshot().since(before),
                    family + ": a key kept op by op never captures again");
        }
    }

    private static int roundUp(int rows) {
        return (rows + QUANTUM - 1) / QUANTUM * QUANTUM;
    }

    /** The greedy first token and decode tokens of request {@code r}'s unpadded op-by-op session. */
    private static int[] greedyTokens(Decoder decoder, int rows, int r) {
        int[] tokens = new int[DECODE_STEPS];
        try (Tensor embeddings = decoder.embed(ids(rows, r));
             DecoderSession session = decoder.newSession(options(rows))) {
            session.prefill(embeddings, positions(rows, r), null);
            for (int step = 0; step < DECODE_STEPS; step++) {
                tokens[step] = session.greedyToken();
                session.decode(tokens[step]);
            }
        }
        return tokens;
    }

    /**
     * Request {@code r}: {@code rows} tokens of its own at positions with a gap of {@code 3 r} after
     * the sixth, prefilled in a new session (op by op over {@code paddedRows} rows when not 0, else
     * through {@link DecoderSession#prefill}; embeddings from host memory when {@code fromHost}),
     * {@code afterPrefill} called, then {@code tokens} decoded; the logits after each.
     */
    private static Run request(Backend backend, Decoder decoder, int rows, int r, int[] tokens, int paddedRows,
                               boolean fromHost, Consumer<DecoderSession> afterPrefill) {
        return request(backend, decoder, rows, r, tokens, paddedRows, fromHost, afterPrefill, false);
    }

    /** As above; {@code keyKeptOpByOp}: first keeps the session's padded key op by op, as a failed capture does. */
    private static Run request(Backend backend, Decoder decoder, int rows, int r, int[] tokens, int paddedRows,
                               boolean fromHost, Consumer<DecoderSession> afterPrefill, boolean keyKeptOpByOp) {
        int vocab = decoder.config().vocabSize();
        float[][] logits = new float[DECODE_STEPS + 1][vocab];
        try (Tensor onDevice = decoder.embed(ids(rows, r));
             Tensor host = Tensor.allocate(DType.F32, rows, decoder.config().hiddenSize());
             DecoderSession session = decoder.newSession(options(rows))) {
            Tensor embeddings = onDevice;
            if (fromHost) {
                backend.copy(onDevice, host);
                embeddings = host;
            }
            if (keyKeptOpByOp) {
                PrefillGraphProbe.keepPaddedKeyOpByOp(session, roundUp(rows));
            }
            if (paddedRows == 0) {
                session.prefill(embeddings, positions(rows, r), null);
            } else {
                PrefillGraphProbe.prefillPadded(session, embeddings, positions(rows, r), paddedRows);
            }
            afterPrefill.accept(session);
            session.copyLogits(logits[0]);
            for (int step = 0; step < DECODE_STEPS; step++) {
                session.decode(tokens[step]);
                session.copyLogits(logits[step + 1]);
            }
            assertEquals(rows + DECODE_STEPS, session.length(), "tokens in the session");
            assertEquals(rows + DECODE_STEPS, session.cache().length(0), "entries the session records");
        }
        return new Run(logits);
    }

    /** A serving request's session: the prompt plus the decode steps and one more, as {@code ask} asks. */
    private static SessionOptions options(int rows) {
        return SessionOptions.of(rows + DECODE_STEPS + 1);
    }

    private static int[] ids(int rows, int r) {
        int[] ids = new int[rows];
        for (int i = 0; i < rows; i++) {
            ids[i] = (i * 37 + 11 * r + 5) % SyntheticDecoders.VOCAB;
        }
        return ids;
    }

    private static int[] positions(int rows, int r) {
        int[] positions = new int[rows];
        for (int i = 0; i < rows; i++) {
            positions[i] = i + (i >= 6 ? 3 * r : 0);
        }
        return positions;
    }

    private static void assertSameBits(String label, Run expected, Run actual) {
        for (int step = 0; step < expected.logits().length; step++) {
            assertArrayEquals(expected.logits()[step], actual.logits()[step], label + " step " + step + ": logits");
        }
        System.out.println("GPU-PARITY padded-prefill-graphs " + label + ": bit-identical");
    }

    private static void assertClose(String label, Run expected, Run actual) {
        float max = 0f;
        for (int step = 0; step < expected.logits().length; step++) {
            for (int i = 0; i < expected.logits()[step].length; i++) {
                max = Math.max(max, Math.abs(expected.logits()[step][i] - actual.logits()[step][i]));
            }
        }
        System.out.println(String.format(Locale.ROOT, "GPU-PARITY padded-prefill-graphs %s: max |diff| %.3g%s", label,
                max, max == 0f ? " (bit-identical)" : ""));
        assertTrue(max <= TOLERANCE, label + ": logits differ by " + max + " > " + TOLERANCE);
    }
}
