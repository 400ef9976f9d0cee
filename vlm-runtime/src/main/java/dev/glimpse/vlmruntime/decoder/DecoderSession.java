package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaException;
import dev.glimpse.kernels.cuda.GreedyPick;
import dev.glimpse.kernels.cuda.PersistentPhaseTimes;
import dev.glimpse.kernels.cuda.StepGraph;
import dev.glimpse.kernels.cuda.StepInputs;
import dev.glimpse.tokenpruning.accounting.PrefillAccounting;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.IntPredicate;

/**
 * One sequence on a {@link Decoder}: its KV cache, scratch buffers and positions. Prefill appends
 * embeddings (any number of calls, e.g. a cached system prompt then image and question); decode
 * appends one token at a time. After either, {@link #logits()} holds the next-token logits of the
 * last appended token.
 *
 * <p>Prefill runs layer-major: each layer processes all of the prefill's tokens, in chunks of
 * {@link SessionOptions#prefillRows} rows (by default 256 on the host and, on a GPU, the whole
 * prefill up to a scratch budget), before the next layer starts. Each row's
 * arithmetic does not depend on the chunking, so chunked and unchunked prefill agree (up to the GEMM
 * kernel's choice of summation blocking for different row counts), and a {@link PruningHook} sees
 * every token of a layer before any later layer runs.
 *
 * <p>Buffers (KV cache, scratch, decode rows and rotary rows) are allocated when the session is
 * created, or taken as they are from the last closed session of the same capacity and prefill chunk
 * ({@link SessionBufferPool}); a decode step allocates no buffers. The capacity is
 * {@link SessionOptions#maxSequenceLength} rounded up to a bucket under {@value CapacityBuckets#PROPERTY}
 * (so requests of similar size share the pooled set); the session still holds at most
 * {@code maxSequenceLength} tokens ({@link KvCache#limit()}). Not thread-safe: use one session per thread; the
 * {@link Decoder} itself is shared.
 *
 * <p>On a {@link CudaBackend} a decode step waits on the host for nothing: its integers (token id,
 * per-layer positions and cache lengths) are written to pinned memory and copied on the stream,
 * and the kernels read them from device memory, so after one eager step the whole step (embedding,
 * every layer, final norm, lm_head) is captured once as a CUDA graph and replayed with one launch
 * per token. It is re-captured when pruning changes the layers' position offsets, and steps run
 * eagerly for positions past the precomputed rotary rows. {@value #GRAPHS_PROPERTY}{@code =false}
 * turns replay off (every op launched from Java, host uploads of ids and positions).
 *
 * <p>Unless {@value #DECODE_AHEAD_PROPERTY}{@code =false} (read per session; on by default since the H200
 * measured it: 2026-11-29, bundles 940f9b9 and 42e4dc7, CudaDecoderBench on the Qwen2-0.5B shape at 600 prompt
 * tokens, ahead vs step by step in one JVM, 0.962-0.992x ms per token over five JVMs, median 0.969x, quoted in
 * bench/README.md's session-10 section, no results file kept; its exactness tests passed) greedy decoding
 * ({@link #decodeGreedy}) on replayed steps runs one step ahead of the host: the argmax of step n's
 * logits is written on the device where step n+1's graph reads its token, the graph ends by advancing
 * its positions and cache lengths on the device, so step n+1 is queued before the host reads step n's
 * token; a step queued past a stop is discarded (its KV entries lie past the recorded lengths, its
 * logits are put back). The tokens, the logits and the bookkeeping are those of the step-by-step loop. The
 * device argmax and the saved logits it needs ({@link DecodeAheadBuffers}) belong to the pooled
 * {@link SessionBuffers}, made once per set, so a request's session makes none of them (under
 * {@value #POOL_DECODE_AHEAD_PROPERTY}{@code =false}, made at the session's first lookahead and freed with it).
 *
 * <p>Under {@value PrefillGraphs#PROPERTY} ({@code auto}, the default: up to
 * {@value PrefillGraphs#AUTO_MAX_ROWS} rows) a CUDA prefill without a pruning hook that fits one
 * prefill chunk replays a CUDA graph too: every layer, the final norm and
 * lm_head of the last row, captured per prompt length on the pooled {@link SessionBuffers} (a
 * session lives for one request; its buffers for many) on the second prefill of that length and
 * replayed on later ones, the embeddings and rotary rows first written into the graph's input
 * buffers ({@link PrefillGraphs}). The KV cache, logits and bookkeeping it leaves are those of the
 * op-by-op prefill. Under {@value PrefillPadding#PROPERTY} its rows are padded to a multiple of a
 * quantum so that prompts of nearby lengths share one graph ({@link PrefillPadding}).
 *
 * <p>Head pruning: the query heads a {@link PruningHook} switches off in a layer
 * ({@link PruningHook#activeHeads}) output zero in that layer for the rest of the prefill and in
 * every later prefill and decode step of the session; heads, once off, never come back.
 */
public final class DecoderSession implements AutoCloseable {

    /** System property: {@code false} launches decode steps op by op instead of replaying a CUDA graph ({@link #decodeGraphs()}). */
    public static final String GRAPHS_PROPERTY = "glimpse.cuda.decodeGraphs";
    /** System property: "false" stops {@link #decodeGreedy} queueing each replayed step before the host reads the previous token ({@link #decodeAhead()}). */
    public static final String DECODE_AHEAD_PROPERTY = "glimpse.cuda.decodeAhead";
    /**
     * System property: {@code true} (the default) keeps decode lookahead's device argmax and saved logits with the
     * pooled session buffers for the next session ({@link #poolDecodeAhead()}); {@code false} makes and frees them per
     * session. Pooled and per-session give the same tokens and logits bit for bit (CudaDecodeAheadTest, H200,
     * 2026-11-29).
     */
    public static final String POOL_DECODE_AHEAD_PROPERTY = "glimpse.decoder.poolDecodeAhead";
    /** System property: auto (default), true or false: eligible prefills replay from CUDA graphs ({@link PrefillGraphs}). */
    public static final String PREFILL_GRAPHS_PROPERTY = PrefillGraphs.PROPERTY;
    /** System property: KV capacity bucket step in entries, 256 by default, 0 for exact capacities ({@link CapacityBuckets}). */
    public static final String CAPACITY_BUCKET_PROPERTY = CapacityBuckets.PROPERTY;
    /**
     * System property: row quantum graph prefills are padded to ({@link PrefillPadding}); 0 by default (one-shot
     * commands) for exact rows, {@code glimpse serve} sets 16 unless given.
     */
    public static final String PREFILL_PAD_ROWS_PROPERTY = PrefillPadding.PROPERTY;
    /** Prefill graphs one pooled set of session buffers holds at most, least recently used out ({@link PrefillGraphs}). */
    public static final int PREFILL_GRAPHS_HELD = PrefillGraphs.CAPACITY;

    private static final Logger LOG = LoggerFactory.getLogger(DecoderSession.class);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Decoder decoder;
    private final Backend backend;
    private final TextConfig config;
    private final SessionOptions options;
    /** Rows per prefill chunk ({@link SessionOptions#prefillRows}). */
    private final int prefillChunk;
    private final List<DecoderLayer> layers;
    /** KV cache, scratch, step rows and logits: this session's, or a closed one's of the same shape. */
    private final SessionBuffers buffers;
    private final KvCache cache;
    private final DecoderScratch scratch;
    private final Tensor stepHidden;
    private final Tensor stepCos;
    private final Tensor stepSin;
    private final Tensor lastNormed;
    private final Tensor logits;
    /** Host copy of the logits on a device backend (the one read-back per step); null on the host. */
    private final Tensor hostLogits;
    private final int[] stepId = new int[1];
    private final int[] stepToken = new int[1];
    private final int[] stepPosition = new int[1];
    /** Per layer: the query heads that run, or null for all (SpAtten head pruning; never re-enabled). */
    private final boolean[][] activeHeads;
    /** Per layer: tokens dropped below it so far (CONTIGUOUS positions subtract it). */
    private final int[] dropped;
    /** The backend when decode steps replay as a CUDA graph, else null. */
    private CudaBackend replayBackend;
    /** Per step: [0] token id, [1 + l] position, [1 + L + l] cache length, [1 + 2L + l] key count of layer l. */
    private final StepInputs stepInputs;
    private StepGraph stepGraph;
    /**
     * Decode steps are made for lookahead ({@value #DECODE_AHEAD_PROPERTY}): the step inputs are
     * uploaded before the step instead of inside its graph, and the step ends by advancing them.
     */
    private final boolean ahead;
    /** Lookahead's pick and saved logits: the pooled set's ({@value #POOL_DECODE_AHEAD_PROPERTY}) or this session's own. */
    private final DecodeAheadBuffers aheadBuffers;
    private boolean aheadFallbackLogged;
    private int stepsQueuedAhead;
    /** The step's layers as one persistent kernel, once looked for ({@link #persistentStep}); null when not used. */
    private PersistentDecodeStep persistentStep;
    private boolean persistentLookedFor;
    /** Per-layer position offsets the current graph (or its eager warm-up step) was made for. */
    private int[] replayOffsets;
    private int appended;
    private int nextPosition;
    private boolean hasLogits;
    private boolean closed;

    DecoderSession(Decoder decoder, SessionOptions options) {
        this.decoder = decoder;
        this.backend = decoder.backend();
        this.config = decoder.config();
        this.options = options;
        this.layers = decoder.layers();
        int bucketStep = CapacityBuckets.step();
        int capacity = CapacityBuckets.capacity(options.maxSequenceLength(), bucketStep);
        this.prefillChunk = new SessionOptions(capacity, options.prefillChunkSize(), options.positionMode())
                .prefillRows(backend.device().isHost(), DecoderScratch.bytesPerRow(config));
        SessionBuffers.Shape shape = new SessionBuffers.Shape(capacity, prefillChunk,
                DecoderScratch.gemmInputType(backend, decoder.weights()),
                KvCache.dtypeFor(backend.device(), decoder.weights().layers().getFirst().q().dtype(),
                        config.numAttentionHeads() / config.numKeyValueHeads()));
        this.buffers = decoder.sessionBuffers().take(shape, bucketStep > 0,
                () -> SessionBuffers.allocate(backend, config, decoder.rope().rotaryDim(), shape));
        this.cache = buffers.cache();
        cache.limitTo(options.maxSequenceLength());
        this.scratch = buffers.scratch();
        this.stepHidden = buffers.stepHidden();
        this.stepCos = buffers.stepCos();
        this.stepSin = buffers.stepSin();
        this.lastNormed = buffers.lastNormed();
        this.logits = buffers.logits();
        this.hostLogits = buffers.hostLogits();
        this.dropped = new int[config.numHiddenLayers()];
        this.activeHeads = new boolean[config.numHiddenLayers()][];
        this.aheadBuffers = poolDecodeAhead() ? buffers.decodeAhead() : new DecodeAheadBuffers();
        try {
            aheadBuffers.settle();
        } catch (RuntimeException e) {
            // the last session's pick failed to land (a CUDA error): the pool gets its set back, nothing else is held
            decoder.sessionBuffers().give(buffers);
            throw e;
        }
        this.replayBackend = decodeGraphs() && backend instanceof CudaBackend cuda ? cuda : null;
        this.stepInputs = replayBackend == null ? null : replayBackend.stepInputs(1 + 3 * config.numHiddenLayers());
        this.ahead = replayBackend != null && decodeAhead();
    }

    /**
     * Whether {@value #POOL_DECODE_AHEAD_PROPERTY} keeps lookahead's buffers with the pooled session buffers (default
     * true; read per session, strictly, {@link BooleanProperty}).
     *
     * @throws IllegalArgumentException for a value other than true, false or blank
     */
    static boolean poolDecodeAhead() {
        return BooleanProperty.read(POOL_DECODE_AHEAD_PROPERTY, true);
    }

    /**
     * The row quantum graph prefills are padded to now ({@value #PREFILL_PAD_ROWS_PROPERTY}; 0: exact rows), so that a
     * caller can tell which prompt lengths share a graph: lengths rounded up to the same multiple.
     *
     * @throws IllegalArgumentException for a value that is not a number of rows >= 0
     */
    public static int prefillPadQuantum() {
        return PrefillPadding.quantum();
    }

    /**
     * Whether {@value #PREFILL_GRAPHS_PROPERTY} lets a CUDA prefill of {@code rows} rows (without a pruning hook, in
     * one chunk) replay from a graph now.
     *
     * @throws IllegalArgumentException for a value other than auto, true or false
     */
    public static boolean prefillGraphsFor(int rows) {
        return PrefillGraphs.enabled(rows);
    }

    /**
     * Whether {@value #GRAPHS_PROPERTY} lets CUDA decode steps replay as a graph (default true; read per session,
     * strictly, {@link BooleanProperty}).
     *
     * @throws IllegalArgumentException for a value other than true, false or blank
     */
    static boolean decodeGraphs() {
        return BooleanProperty.read(GRAPHS_PROPERTY, true);
    }

    /**
     * Whether {@value #DECODE_AHEAD_PROPERTY} lets a replayed greedy decode queue each step ahead (default true;
     * read strictly, {@link BooleanProperty}).
     *
     * @throws IllegalArgumentException for a value other than true, false or blank
     */
    static boolean decodeAhead() {
        return BooleanProperty.read(DECODE_AHEAD_PROPERTY, true);
    }

    public SessionOptions options() {
        return options;
    }

    public KvCache cache() {
        return cache;
    }

    /** Tokens appended so far (prefilled and decoded, pruned ones included). */
    public int length() {
        return appended;
    }

    /** The position the next appended token gets by default: one past the largest given so far. */
    public int nextPosition() {
        return nextPosition;
    }

    /** Prefills {@code ids} through the embedding table at the next positions, without pruning. */
    public PrefillResult prefill(int[] ids) {
        try (Tensor embeddings = decoder.embed(ids)) {
            return prefill(embeddings, consecutivePositions(ids.length), null);
        }
    }

    /**
     * Appends {@code embeddings} F32 [T, hidden] at {@code positions} (T strictly increasing values,
     * the HF {@code position_ids}; gaps allowed, e.g. the unpruned prompt's positions of the tokens
     * kept by pruning before the LLM), runs every layer over them and leaves the last token's logits
     * in {@link #logits()}. Every layer's rotary embedding uses these positions, and the keys cached
     * for the tokens carry them; decoding continues at the last position + 1.
     * {@code hook} (nullable) may prune tokens between layers.
     */
    public PrefillResult prefill(Tensor embeddings, int[] positions, PruningHook hook) {
        long start = System.nanoTime();
        int total = validatePrefill(embeddings, positions);
        PrefillGraphKey graphKey = graphKey(total, hook);
        if (graphKey != null && prefillFromGraph(graphKey, embeddings, positions, total)) {
            return prefilledAlike(start, total, positions);
        }
        Tensor hidden = backend.allocate(DType.F32, total, config.hiddenSize());
        Tensor spare = null;
        int half = decoder.rope().rotaryDim() / 2;
        Tensor cos = backend.allocate(DType.F32, total, half);
        Tensor sin = backend.allocate(DType.F32, total, half);
        try {
            backend.copy(embeddings, hidden);
            int n = total;
            int[] tokens = new int[n];
            for (int i = 0; i < n; i++) {
                tokens[i] = appended + i;
            }
            int[] inputPositions = positions.clone();
            int[] droppedBefore = new int[n];
            int[] tablePositions = null;
            int[] tokensPerLayer = new int[layers.size()];
            int[] droppedAt = new int[layers.size()];
            boolean headsChanged = false;
            for (int l = 0; l < layers.size(); l++) {
                int[] layerPositions = layerPositions(l, inputPositions, droppedBefore, n);
                if (!Arrays.equals(layerPositions, tablePositions)) {
                    tablePositions = layerPositions;
                    decoder.rope().fill(backend, layerPositions, cos.slice(0, 0, n), sin.slice(0, 0, n));
                }
                tokensPerLayer[l] = n;
                Optional<AttentionRequest> request = hook == null ? Optional.empty()
                        : hook.before(l, Arrays.copyOf(tokens, n));
                if (hook != null && restrictHeads(l, hook.activeHeads(l))) {
                    headsChanged = true;
                }
                int active = n;
                int keys = cache.length(l) + n;
                int[] keep;
                try (LayerCapture capture = request.map(r -> new LayerCapture(backend, r, active,
                        config.numAttentionHeads(), keys)).orElse(null)) {
                    runLayer(l, hidden, n, cos, sin, tokens, capture);
                    if (capture == null) {
                        continue;
                    }
                    keep = hook.keep(capture.result(l, Arrays.copyOf(tokens, n), cache.tokens(l)));
                }
                validateKeep(keep, n, l);
                if (keep.length == n) {
                    continue;
                }
                if (spare == null) {
                    spare = backend.allocate(DType.F32, total, config.hiddenSize());
                }
                backend.gatherRows(hidden.slice(0, 0, n), keep, spare.slice(0, 0, keep.length));
                Tensor swap = hidden;
                hidden = spare;
                spare = swap;
                for (int i = 0; i < keep.length; i++) {
                    tokens[i] = tokens[keep[i]];
                    inputPositions[i] = inputPositions[keep[i]];
                    droppedBefore[i] = droppedBefore[keep[i]] + keep[i] - i;
                }
                droppedAt[l] = n - keep.length;
                n = keep.length;
            }
            finish(hidden.slice(0, n - 1, n));
            if (headsChanged && stepGraph != null) {
                stepGraph.awaitLastLaunch();
                closeGraph();
            }
            if (graphKey != null) {
                buffers.prefillGraphs().ranOpByOp(graphKey);
            }
            return prefilled(start, total, positions, tokensPerLayer, droppedAt, n);
        } finally {
            hidden.close();
            if (spare != null) {
                spare.close();
            }
            cos.close();
            sin.close();
        }
    }

    /** {@link #prefilled} for a prefill of {@code total} tokens that every layer ran, none pruned. */
    private PrefillResult prefilledAlike(long start, int total, int[] positions) {
        int[] tokensPerLayer = new int[layers.size()];
        Arrays.fill(tokensPerLayer, total);
        return prefilled(start, total, positions, tokensPerLayer, new int[layers.size()], total);
    }

    /**
     * The session's bookkeeping after a prefill of {@code total} tokens at {@code positions}
     * ({@code droppedAt[l]}: tokens pruned after layer l; {@code kept}: tokens reaching the last
     * layer), and what the prefill did.
     */
    private PrefillResult prefilled(long start, int total, int[] positions, int[] tokensPerLayer, int[] droppedAt,
                                    int kept) {
        appended += total;
        nextPosition = Math.max(nextPosition, Arrays.stream(positions).max().orElseThrow() + 1);
        int cumulative = 0;
        for (int l = 0; l < layers.size(); l++) {
            dropped[l] += cumulative;
            cumulative += droppedAt[l];
        }
        double flops = PrefillAccounting.prefillFlops(decoder.shape(), tokensPerLayer);
        return new PrefillResult(total, tokensPerLayer, kept, flops, System.nanoTime() - start, headsPerLayer());
    }

    /**
     * The graph key of a prefill of {@code total} tokens with {@code hook}, or null when it runs op
     * by op: {@value PrefillGraphs#PROPERTY} is off for {@code total} rows, or the prefill is one a graph cannot hold
     * ({@link PrefillGraphs#opByOpReason}, logged at debug). Under {@value PrefillPadding#PROPERTY} the
     * key's rows are {@code total} padded where the chunk and the cache's allocated entries hold them.
     */
    private PrefillGraphKey graphKey(int total, PruningHook hook) {
        if (!PrefillGraphs.enabled(total)) {
            return null;
        }
        boolean headsPruned = Arrays.stream(activeHeads).anyMatch(a -> a != null);
        boolean shifted = options.positionMode() == PositionMode.CONTIGUOUS && Arrays.stream(dropped).anyMatch(d -> d != 0);
        String reason = PrefillGraphs.opByOpReason(backend instanceof CudaBackend, hook, total, prefillChunk,
                cache.lengths(), headsPruned, shifted);
        if (reason != null) {
            LOG.debug("decoder prefill of {} rows runs op by op: {}", total, reason);
            return null;
        }
        int quantum = PrefillPadding.quantum();
        int start = cache.length(0);
        int rows = PrefillPadding.rows(total, quantum, Math.min(prefillChunk, cache.capacity() - start));
        return PrefillGraphKey.of(rows, start, quantum > 0, System.getProperties());
    }

    /**
     * The prefill of {@code embeddings} at {@code positions} from the graph of {@code key} on this
     * session's buffers (captured now on the key's second prefill): the embeddings and rotary rows
     * are written into the graph's input buffers, then every layer (and, unless the key is
     * {@link PrefillGraphKey#layersOnly}, the final norm and lm_head of the last row) replay as one
     * launch, the same kernels in the same order as the op-by-op prefill without a hook. A
     * layers-only key's rows may be padded ({@link PrefillPadding}): the last real row's final norm
     * and lm_head run after the graph, and its first, op-by-op call runs the padded rows too (so the
     * capture meets only measured GEMM shapes). False when the caller must run the exact rows op by
     * op: the first call of a key whose rows are the exact ones, and every call of a key kept op by op
     * after its capture or replay failed, padded or not ({@link PrefillGraphs.Outcome#opByOpRows}).
     */
    private boolean prefillFromGraph(PrefillGraphKey key, Tensor embeddings, int[] positions, int total) {
        GraphRows rows = new GraphRows(key.rows(), total, embeddings, positions, !key.layersOnly());
        int[] lengths = cache.lengths();
        PrefillGraphs.Outcome outcome = buffers.prefillGraphs().run((CudaBackend) backend, key, config.hiddenSize(),
                decoder.rope().rotaryDim() / 2, rows, rows, () -> cache.restoreLengths(lengths));
        if (outcome instanceof PrefillGraphs.Outcome.Ran ran) {
            if (key.layersOnly()) {
                finish(ran.hidden().slice(0, total - 1, total));
            }
        } else if (key.layersOnly() && outcome.opByOpRows(key, total) == key.rows()) {
            rows.runOpByOp();
            buffers.prefillGraphs().ranOpByOp(key);
        } else {
            return false;
        }
        rows.recordAppended(lengths);
        return true;
    }

    /**
     * Prefills {@code embeddings} at {@code positions} op by op over {@code rows} rows, the real ones
     * padded as a padded graph prefill pads them ({@link PrefillPadding}), with the bookkeeping of a
     * prefill of the real rows: what a padded graph replays, on any backend (for tests on the host).
     */
    PrefillResult prefillPadded(Tensor embeddings, int[] positions, int rows) {
        long start = System.nanoTime();
        int total = validatePrefill(embeddings, positions);
        int room = Math.min(prefillChunk, cache.capacity() - cache.length(0));
        if (rows < total || rows > room) {
            throw new IllegalArgumentException(total + " tokens cannot run as " + rows + " rows: at most " + room
                    + " fit the prefill chunk and the cache");
        }
        int[] lengths = cache.lengths();
        GraphRows padded = new GraphRows(rows, total, embeddings, positions, false);
        padded.runOpByOp();
        padded.recordAppended(lengths);
        return prefilledAlike(start, total, positions);
    }

    /**
     * The rows of a graph prefill: {@code real} tokens of {@code embeddings} at {@code positions},
     * padded to {@code rows} ({@link PrefillPadding#sourceRows}, {@link PrefillPadding#positions}),
     * as the graph's inputs ({@link #write}) and work ({@link #enqueue}: every layer, with
     * {@code withLogits} the last real row's final norm and lm_head too).
     */
    private final class GraphRows implements PrefillGraph.Inputs, PrefillGraph.Work {

        private final int rows;
        private final int real;
        private final Tensor embeddings;
        private final int[] sourceRows;
        private final int[] rowPositions;
        private final int[] tokens;
        private final boolean withLogits;

        GraphRows(int rows, int real, Tensor embeddings, int[] positions, boolean withLogits) {
            this.rows = rows;
            this.real = real;
            this.embeddings = embeddings;
            this.sourceRows = rows == real ? null : PrefillPadding.sourceRows(real, rows);
            this.rowPositions = PrefillPadding.positions(positions, rows);
            this.tokens = new int[rows];
            for (int i = 0; i < rows; i++) {
                tokens[i] = appended + i;
            }
            this.withLogits = withLogits;
        }

        /**
         * The embeddings into {@code hidden}, padded rows included: one gather from embeddings on
         * the backend's device, else their copy and a gather of the last real row into the padded ones.
         */
        @Override
        public void write(Tensor hidden, Tensor cos, Tensor sin) {
            if (sourceRows == null) {
                backend.copy(embeddings, hidden);
            } else if (embeddings.device().equals(backend.device())) {
                backend.gatherRows(embeddings, sourceRows, hidden);
            } else {
                backend.copy(embeddings, hidden.slice(0, 0, real));
                backend.gatherRows(hidden.slice(0, real - 1, real), new int[rows - real], hidden.slice(0, real, rows));
            }
            decoder.rope().fill(backend, rowPositions, cos, sin);
        }

        @Override
        public void enqueue(Tensor hidden, Tensor cos, Tensor sin) {
            for (int l = 0; l < layers.size(); l++) {
                runLayer(l, hidden, rows, cos, sin, tokens, null);
            }
            if (withLogits) {
                finish(hidden.slice(0, real - 1, real));
            }
        }

        /** Runs the rows op by op on buffers of their own, then the last real row's final norm and lm_head. */
        void runOpByOp() {
            int half = decoder.rope().rotaryDim() / 2;
            try (Tensor hidden = backend.allocate(DType.F32, rows, config.hiddenSize());
                 Tensor cos = backend.allocate(DType.F32, rows, half);
                 Tensor sin = backend.allocate(DType.F32, rows, half)) {
                write(hidden, cos, sin);
                enqueue(hidden, cos, sin);
                if (!withLogits) {
                    finish(hidden.slice(0, real - 1, real));
                }
            }
        }

        /**
         * Sets every layer's cache bookkeeping to {@code lengths} (before the prefill) plus the real
         * rows: the padded rows' entries, written past them, are not the session's.
         */
        void recordAppended(int[] lengths) {
            cache.restoreLengths(lengths);
            for (int l = 0; l < layers.size(); l++) {
                cache.recordAppended(l, tokens, 0, real);
            }
            hasLogits = true;
        }
    }

    /**
     * Appends token {@code id} at {@link #nextPosition()} (per layer shifted in
     * {@link PositionMode#CONTIGUOUS} mode after pruning) and computes its logits.
     */
    public void decode(int id) {
        if (id < 0 || id >= config.vocabSize()) {
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + config.vocabSize() + ")");
        }
        if (cache.remaining() < 1) {
            throw new IllegalStateException("the session is full: " + options.maxSequenceLength()
                    + " tokens (raise maxSequenceLength in SessionOptions)");
        }
        if (replayBackend != null && decoder.rope().covers(nextPosition)) {
            decodeReplayed(id);
        } else {
            decodeEager(id);
        }
        appended++;
        nextPosition++;
    }

    private void decodeEager(int id) {
        stepId[0] = id;
        stepToken[0] = appended;
        backend.embedding(decoder.weights().embedTokens(), stepId, stepHidden);
        ScratchRows rows = scratch.rows(1);
        int tablePosition = -1;
        for (int l = 0; l < layers.size(); l++) {
            int position = stepPosition(l);
            if (position != tablePosition) {
                stepPosition[0] = position;
                decoder.rope().fill(backend, stepPosition, stepCos, stepSin);
                tablePosition = position;
            }
            layers.get(l).forward(backend, stepHidden, rows, stepCos, stepSin, cache, stepToken, 0, null,
                    activeHeads[l], null);
        }
        finish(stepHidden);
    }

    private int stepPosition(int layer) {
        return options.positionMode() == PositionMode.CONTIGUOUS ? nextPosition - dropped[layer] : nextPosition;
    }

    /**
     * A decode step on the GPU from device-resident integers: the first step with a given set of
     * per-layer position offsets runs eagerly (loading every kernel), the next is captured as a
     * graph, later ones replay it. The host waits only for the previous replay to have read the
     * pinned inputs, which it has whenever the caller read that step's result.
     */
    private void decodeReplayed(int id) {
        int layerCount = layers.size();
        if (stepGraph != null) {
            stepGraph.awaitLastLaunch();
        }
        stepInputs.set(0, id);
        int[] offsets = setStepInputs();
        if (ahead) {
            replayBackend.upload(stepInputs);
        }
        if (!Arrays.equals(offsets, replayOffsets)) {
            closeGraph();
            replayOffsets = offsets;
            enqueueStep(offsets);
        } else if (stepGraph == null) {
            try {
                stepGraph = replayBackend.capture(() -> enqueueStep(offsets));
            } catch (CudaException e) {
                LOG.warn("decode steps run op by op: capturing the step as a CUDA graph failed ({})", e.getMessage());
                replayBackend = null;
                decodeEager(id);
                return;
            }
            replayBackend.launch(stepGraph);
        } else {
            replayBackend.launch(stepGraph);
        }
        for (int l = 0; l < layerCount; l++) {
            cache.recordAppended(l, appended);
        }
    }

    /**
     * Writes the next step's positions, cache lengths and key counts (not its token id) into the
     * pinned {@link #stepInputs}; returns the per-layer position offsets.
     */
    private int[] setStepInputs() {
        int layerCount = layers.size();
        int[] offsets = new int[layerCount];
        for (int l = 0; l < layerCount; l++) {
            int position = stepPosition(l);
            offsets[l] = nextPosition - position;
            stepInputs.set(1 + l, position);
            stepInputs.set(1 + layerCount + l, cache.length(l));
            stepInputs.set(1 + 2 * layerCount + l, cache.length(l) + 1);
        }
        return offsets;
    }

    /**
     * Queues one decode step that reads its integers from {@link #stepInputs}; waits on nothing.
     * Made for lookahead ({@link #ahead}), it leaves the upload to the caller and ends by advancing
     * the positions, cache lengths and key counts to the next step's.
     */
    private void enqueueStep(int[] offsets) {
        CudaBackend b = replayBackend;
        int layerCount = layers.size();
        if (!ahead) {
            b.upload(stepInputs);
        }
        b.embedding(decoder.weights().embedTokens(), stepInputs.cell(0), stepHidden);
        if (PersistentDecodeStep.covers(offsets, activeHeads) && persistentStep(b) != null) {
            persistentStep.enqueue(b, decoder.rope(), stepInputs.cell(1), stepCos, stepSin);
        } else {
            ScratchRows rows = scratch.rows(1);
            for (int l = 0; l < layerCount; l++) {
                if (l == 0 || offsets[l] != offsets[l - 1]) {
                    decoder.rope().fill(b, stepInputs.cell(1 + l), stepCos, stepSin);
                }
                layers.get(l).forwardStep(b, stepHidden, rows, stepCos, stepSin, cache,
                        stepInputs.cell(1 + layerCount + l), stepInputs.cell(1 + 2 * layerCount + l), activeHeads[l]);
            }
        }
        finish(stepHidden);
        if (ahead) {
            b.advance(stepInputs, 1);
        }
    }

    /**
     * Whether {@link #decodeGreedy} may run steps ahead of the host here: {@value #DECODE_AHEAD_PROPERTY}
     * is on and decode steps replay as CUDA graphs.
     */
    public boolean decodesAhead() {
        return ahead && replayBackend != null;
    }

    /** Decode steps queued before the host read the token they consume (discarded ones included); for tests. */
    public int stepsQueuedAhead() {
        return stepsQueuedAhead;
    }

    /**
     * Greedy decoding from the current logits, as the loop "pick {@link #greedyToken()}; hand it to
     * {@code accept}; stop when that returns false or after the {@code limit}-th token, else
     * {@link #decode} it" would do it: the same tokens reach {@code accept}, once each and in order,
     * and the session ends as that loop leaves it (length, positions, cache, logits). {@code accept}
     * sees the session before its token is appended (so {@code cache().remaining()} is what the loop
     * would see). Returns the number of tokens picked (1 to {@code limit}).
     *
     * <p>Under {@value #DECODE_AHEAD_PROPERTY}{@code =true}, once the step graph is captured, each step
     * is queued before the host reads the token it consumes ({@link #decodeAhead}); without a replayed
     * graph, with the persistent step, or once the rotary rows run out, steps go one by one.
     */
    public int decodeGreedy(int limit, IntPredicate accept) {
        requireLogits();
        if (limit < 1) {
            throw new IllegalArgumentException("decodeGreedy needs a limit of at least one token, got " + limit);
        }
        GreedyRun run = new GreedyRun(limit, accept);
        while (!run.stopped) {
            if (aheadReady()) {
                decodeAhead(run);
            } else {
                int token = greedyToken();
                if (run.take(token)) {
                    decode(token);
                }
            }
        }
        return run.picked;
    }

    /** Tokens {@link #decodeGreedy} has picked and whether it is to stop. */
    private static final class GreedyRun {
        private final int limit;
        private final IntPredicate accept;
        private int picked;
        private boolean stopped;

        GreedyRun(int limit, IntPredicate accept) {
            this.limit = limit;
            this.accept = accept;
        }

        /** Hands {@code token} on; true when it is to be appended (accepted and under the limit). */
        boolean take(int token) {
            picked++;
            stopped = !accept.test(token) || picked == limit;
            return !stopped;
        }

        /** Whether a token picked next would be appended if accepted. */
        boolean mayAppendNext() {
            return picked + 1 < limit;
        }
    }

    /** Whether the next greedy steps can run ahead: the flag, a captured step graph for today's offsets, no persistent step. */
    private boolean aheadReady() {
        if (!ahead || replayBackend == null || stepGraph == null) {
            return false;
        }
        if (persistentStep != null) {
            if (!aheadFallbackLogged) {
                aheadFallbackLogged = true;
                LOG.debug("decode lookahead off for this session: its steps run the persistent kernel");
            }
            return false;
        }
        return decoder.rope().covers(nextPosition) && Arrays.equals(stepOffsets(), replayOffsets);
    }

    private int[] stepOffsets() {
        int[] offsets = new int[layers.size()];
        for (int l = 0; l < offsets.length; l++) {
            offsets[l] = nextPosition - stepPosition(l);
        }
        return offsets;
    }

    /**
     * Greedy steps one ahead of the host: uploads the next step's positions and lengths once, then per
     * token queues the device argmax of the current logits into the step's token cell (and its copy
     * back), saves the logits and replays the step graph (which reads that cell and ends by advancing
     * its positions and lengths) before waiting for the token. An accepted token's step is already
     * queued: only the host bookkeeping of {@link #decode} is left. At a stop the queued step is
     * discarded: its KV entries lie past the recorded lengths (the next step or prefill overwrites
     * them), its logits are put back (also when {@code accept} throws) and the device's step inputs are
     * uploaded anew by the next step.
     * A step is queued only when the loop would append it if accepted: under the limit, with room in the
     * cache and rotary rows for its position; otherwise an accepted token goes through {@link #decode}
     * and the caller's loop goes on.
     */
    private void decodeAhead(GreedyRun run) {
        CudaBackend b = replayBackend;
        GreedyPick aheadPick = aheadBuffers.pick(b, config.vocabSize());
        Tensor aheadSavedLogits = aheadBuffers.savedLogits(b, config.vocabSize());
        Tensor tokenCell = stepInputs.cell(0);
        stepGraph.awaitLastLaunch();
        setStepInputs();
        b.upload(stepInputs);
        while (true) {
            b.pickGreedy(logits, aheadPick, tokenCell);
            boolean queued = run.mayAppendNext() && cache.remaining() >= 1 && decoder.rope().covers(nextPosition);
            if (queued) {
                b.copy(logits, aheadSavedLogits);
                b.launch(stepGraph);
                stepsQueuedAhead++;
            }
            int token = aheadPick.await();
            boolean goOn = false;
            try {
                goOn = run.take(token);
            } finally {
                if (queued && !goOn) {
                    b.copy(aheadSavedLogits, logits);
                }
            }
            if (!goOn) {
                return;
            }
            if (!queued) {
                decode(token);
                return;
            }
            for (int l = 0; l < layers.size(); l++) {
                cache.recordAppended(l, appended);
            }
            appended++;
            nextPosition++;
        }
    }

    /**
     * True once a decode step of this session ran its layers as one persistent kernel
     * ({@code -Dglimpse.cuda.decodeMegakernel=true} on a decoder within its scope); for tests and benchmarks.
     */
    public boolean runsPersistentStep() {
        return persistentStep != null;
    }

    /**
     * Where the last persistent step's launch spent its time, per phase, when the steps run the timed
     * persistent kernel ({@code -Dglimpse.cuda.decodeMegakernel.timers=true}); empty otherwise. Waits for
     * the stream; for benchmarks.
     */
    public Optional<PersistentPhaseTimes> persistentPhaseTimes() {
        return persistentStep == null ? Optional.empty() : persistentStep.phaseTimes();
    }

    /**
     * The persistent decode step ({@code -Dglimpse.cuda.decodeMegakernel=true}), looked for once per
     * session, at its first (eager) step, so that capture allocates nothing; null when not used.
     */
    private PersistentDecodeStep persistentStep(CudaBackend b) {
        if (!persistentLookedFor) {
            persistentLookedFor = true;
            persistentStep = PersistentDecodeStep.create(b, decoder, cache, stepInputs, stepHidden, stepCos, stepSin);
        }
        return persistentStep;
    }

    private void closeGraph() {
        if (stepGraph != null) {
            stepGraph.close();
            stepGraph = null;
        }
    }

    /**
     * The greedy next token: the argmax of the logits (first index on ties), computed where the
     * logits are; on a GPU only its index crosses to the host.
     */
    public int greedyToken() {
        requireLogits();
        return backend.argmax(logits)[0];
    }

    /** F32 [1, vocab]: the next-token logits after the last prefill or decode. */
    public Tensor logits() {
        requireLogits();
        return logits;
    }

    /**
     * Copies the next-token logits into {@code dst} (length vocab) without allocating. On a device
     * backend this is the step's read-back to the host (sampling runs there).
     */
    public void copyLogits(float[] dst) {
        requireLogits();
        if (dst.length != config.vocabSize()) {
            throw new IllegalArgumentException("logits buffer holds " + dst.length + " values, vocab is " + config.vocabSize());
        }
        Tensor host = logits;
        if (hostLogits != null) {
            backend.copy(logits, hostLogits);
            host = hostLogits;
        }
        MemorySegment.copy(host.segment(), F32, host.byteOffset(), dst, 0, dst.length);
    }

    /** Positions {@link #nextPosition()} onwards, for appending {@code n} tokens after everything so far. */
    public int[] consecutivePositions(int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = nextPosition + i;
        }
        return p;
    }

    /**
     * Ends the session: its graph and step inputs are released, a lookahead pick still queued on the pooled set is
     * awaited and forgotten ({@link DecodeAheadBuffers#settle}; a session that ended mid-lookahead, by a stop token
     * or an exception, leaves none for the next) and its buffers go to the decoder's
     * {@link SessionBufferPool} for the next session of the same shape (so {@link #logits()} and
     * {@link #cache()} must not be used after this). Every step runs even if an earlier one fails (a CUDA
     * error in the graph's release or the wait): the first failure is then thrown, with the later ones
     * suppressed on it. A second call does nothing.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        failure = release(failure, this::closeGraph);
        failure = release(failure, () -> {
            if (aheadBuffers != buffers.decodeAhead()) {
                aheadBuffers.close();
            } else {
                aheadBuffers.settle();
            }
        });
        if (persistentStep != null) {
            failure = release(failure, persistentStep::close);
        }
        if (stepInputs != null) {
            failure = release(failure, stepInputs::close);
        }
        failure = release(failure, () -> decoder.sessionBuffers().give(buffers));
        if (failure != null) {
            throw failure;
        }
    }

    /** Runs one step of {@link #close}; returns the first failure so far, a later one suppressed on it. */
    static RuntimeException release(RuntimeException first, Runnable step) {
        try {
            step.run();
            return first;
        } catch (RuntimeException e) {
            if (first == null) {
                return e;
            }
            first.addSuppressed(e);
            return first;
        }
    }

    private void runLayer(int l, Tensor hidden, int n, Tensor cos, Tensor sin, int[] tokens, LayerCapture capture) {
        int prior = cache.length(l);
        for (int from = 0; from < n; from += prefillChunk) {
            int to = Math.min(n, from + prefillChunk);
            AttentionCapture kernelCapture = capture == null ? null : capture.forChunk(from, to, prior + to);
            layers.get(l).forward(backend, hidden.slice(0, from, to), scratch.rows(to - from), cos.slice(0, from, to),
                    sin.slice(0, from, to), cache, tokens, from, kernelCapture, activeHeads[l], capture);
            if (capture != null) {
                capture.collect();
            }
        }
    }

    /** Keeps the padded prefill graph key of {@code rows} rows at the cache's length op by op, as a failed capture does; for tests. */
    void keepPaddedPrefillKeyOpByOp(int rows) {
        buffers.prefillGraphs().keepOpByOp(PrefillGraphKey.of(rows, cache.length(0), true, System.getProperties()));
    }

    /**
     * The lookahead pick this session used, null before any ({@link DecodeAheadBuffers}: the pooled set's under
     * {@value #POOL_DECODE_AHEAD_PROPERTY}, else the session's own; for tests).
     */
    GreedyPick decodeAheadPick() {
        return aheadBuffers.madePick();
    }

    /** Prefill graphs the session's buffers hold now ({@link PrefillGraphs}; for tests). */
    int prefillGraphsHeld() {
        return buffers.prefillGraphs().size();
    }

    /** Query heads each layer runs now (all of them where nothing was pruned). */
    public int[] headsPerLayer() {
        int[] out = new int[layers.size()];
        for (int l = 0; l < out.length; l++) {
            out[l] = config.numAttentionHeads();
            if (activeHeads[l] != null) {
                out[l] = 0;
                for (boolean on : activeHeads[l]) {
                    out[l] += on ? 1 : 0;
                }
            }
        }
        return out;
    }

    /**
     * Switches off, in {@code layer}, the heads {@code mask} leaves out (null: none); heads already
     * off stay off. Returns whether any head was switched off.
     */
    private boolean restrictHeads(int layer, boolean[] mask) {
        if (mask == null) {
            return false;
        }
        int heads = config.numAttentionHeads();
        if (mask.length != heads) {
            throw new IllegalArgumentException("pruning hook's head mask for layer " + layer + " has " + mask.length
                    + " entries; the decoder has " + heads + " query heads");
        }
        boolean[] current = activeHeads[layer];
        boolean[] next = new boolean[heads];
        boolean changed = false;
        int on = 0;
        for (int h = 0; h < heads; h++) {
            boolean was = current == null || current[h];
            next[h] = was && mask[h];
            changed |= was != next[h];
            on += next[h] ? 1 : 0;
        }
        if (on == 0) {
            throw new IllegalArgumentException("pruning hook switched off every head of layer " + layer);
        }
        if (changed) {
            activeHeads[layer] = next;
        }
        return changed;
    }

    /** Final norm and lm_head of one hidden row [1, hidden] into the logits. */
    private void finish(Tensor lastHidden) {
        backend.rmsNorm(lastHidden, decoder.weights().finalNorm(), (float) config.rmsNormEps(), lastNormed);
        backend.linear(lastNormed, decoder.weights().lmHead(), null, logits);
        hasLogits = true;
    }

    private int[] layerPositions(int layer, int[] inputPositions, int[] droppedBefore, int n) {
        int[] p = Arrays.copyOf(inputPositions, n);
        if (options.positionMode() == PositionMode.CONTIGUOUS) {
            for (int i = 0; i < n; i++) {
                p[i] -= dropped[layer] + droppedBefore[i];
            }
        }
        return p;
    }

    private int validatePrefill(Tensor embeddings, int[] positions) {
        if (embeddings.dtype() != DType.F32 || embeddings.rank() != 2 || embeddings.dim(1) != config.hiddenSize()) {
            throw new IllegalArgumentException("prefill takes F32 embeddings [tokens, " + config.hiddenSize() + "], got "
                    + embeddings);
        }
        int total = embeddings.dim(0);
        if (total == 0) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        if (positions.length != total) {
            throw new IllegalArgumentException(positions.length + " positions for " + total + " tokens");
        }
        for (int i = 0; i < total; i++) {
            if (positions[i] < 0) {
                throw new IllegalArgumentException("negative position " + positions[i]);
            }
            if (i > 0 && positions[i] <= positions[i - 1]) {
                throw new IllegalArgumentException("prefill positions must be strictly increasing; got "
                        + positions[i - 1] + " then " + positions[i] + " at token " + i);
            }
        }
        if (total > cache.remaining()) {
            throw new IllegalStateException("prefill of " + total + " tokens does not fit: the session holds "
                    + options.maxSequenceLength() + " and " + (options.maxSequenceLength() - cache.remaining())
                    + " are used (raise maxSequenceLength in SessionOptions)");
        }
        return total;
    }

    private static void validateKeep(int[] keep, int n, int layer) {
        if (keep == null || keep.length == 0 || keep[keep.length - 1] != n - 1) {
            throw new IllegalArgumentException("pruning hook at layer " + layer + " must keep the last token (index "
                    + (n - 1) + "); got " + (keep == null ? "null" : Arrays.toString(keep)));
        }
        for (int i = 0; i < keep.length; i++) {
            if (keep[i] < 0 || (i > 0 && keep[i] <= keep[i - 1])) {
                throw new IllegalArgumentException("pruning hook at layer " + layer
                        + " must return strictly ascending indices in [0, " + n + "); got " + Arrays.toString(keep));
            }
        }
    }

    private void requireLogits() {
        if (!hasLogits) {
            throw new IllegalStateException("no logits yet: prefill or decode first");
        }
    }
}
