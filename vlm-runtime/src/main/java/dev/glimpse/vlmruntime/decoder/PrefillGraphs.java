package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.GraphCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;


/**
 * Decoder prefills replayed from CUDA graphs ({@value #PROPERTY}{@code =auto|true|false}, read at
 * every prefill; {@code auto}, the default, graphs prefills of up to {@value #AUTO_MAX_ROWS} rows,
 * where launches weigh and a graph's scratch is small; {@code true} any that fits one chunk): at small visual budgets (LLaVA-1.5-7B with 64 VTC-CLS tokens: a 74-row
 * prefill) the prefill's ten-odd small kernels per layer and the host's gaps between their launches
 * cost about as much as its GEMMs, and one graph launch issues them all. Held by the
 * {@link SessionBuffers} the graphs write (KV cache, scratch, logits), so they outlive the
 * per-request {@link DecoderSession} and die with the buffers. Per {@link PrefillGraphKey} the
 * first prefill runs op by op (loading kernels, measuring cuBLASLt algorithms: neither may happen
 * inside a capture), the second captures a {@link PrefillGraph} and launches it, later ones write
 * their inputs into its buffers and replay it. At most {@value #CAPACITY} graphs are held, least
 * recently used out. A capture or replay that fails is logged at warn and its key runs op by op
 * from then on, over the prompt's exact rows (a padded key's padding only paid for its graph); the
 * request itself never fails for it.
 *
 * <p>Only prefills the graph can hold exactly replay ({@link #opByOpReason}): on CUDA, without a
 * pruning hook (its decisions, and attention captures for its scores, are host work between
 * layers), in one prefill chunk, with every layer's cache equally long, no query heads pruned and
 * one set of positions for every layer. Keys are by the rows the graph runs: under
 * {@value PrefillPadding#PROPERTY} the prompt's rows padded to a multiple of a quantum, so prompts of
 * nearby lengths replay one graph ({@link PrefillPadding}); the counts of what prefills did go to
 * {@link PrefillGraphCounters}.
 */
final class PrefillGraphs implements AutoCloseable {

    /** System property: {@code auto} (default), {@code true} or {@code false}. */
    static final String PROPERTY = "glimpse.cuda.prefillGraphs";
    /**
     * Rows up to which {@code auto} graphs a prefill. On the H200 (2026-11-28, commit 4e4e0fd, one
     * bench-llava.sh call) graphs took LLaVA-1.5-7B's 74-row prefill from 5.27 to 4.75 ms and its
     * 586-row one from 14.5 to 14.0 ms, and left OneVision's 6,296-row video prefill where it was
     * (TTFT 76.2 vs 76.4 ms), whose graph would hold hundreds of MB of scratch.
     */
    static final int AUTO_MAX_ROWS = 1024;
    /**
     * Graphs held per set of session buffers: a deployment sees a few prompt lengths per budget, and
     * padded to 16 rows ({@link PrefillPadding}) a serving mix still spans several: 6 keys for
     * LLaVA-1.5-7B at a 64-token budget with questions of 3 to 30 words (prompts of 74 to 164 tokens;
     * ServeMixBench on the H200, 2026-11-29, bundle 0cd2153, bench/results/h200-kernels-2026-11-29-session10.jsonl),
     * where 4 held graphs left 55 of 150 prefills op by op.
     * Each graph holds its input rows (F32 hidden, rotary rows) and its ops' temporaries; the scratch,
     * KV cache and logits it writes are the set's.
     */
    static final int CAPACITY = 8;
    private static final int KEYS_REMEMBERED = 64;

    private static final Logger LOG = LoggerFactory.getLogger(PrefillGraphs.class);

    private final GraphCache<PrefillGraphKey, Boolean, PrefillGraph> cache =
            new GraphCache<>(CAPACITY, Long.MAX_VALUE, KEYS_REMEMBERED, graph -> 0L);

    /** Whether a prefill of {@code rows} rows may replay from a graph under {@value #PROPERTY}. */
    static boolean enabled(int rows) {
        String value = System.getProperty(PROPERTY, "auto").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (value) {
            case "auto" -> rows <= AUTO_MAX_ROWS;
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + " must be auto, true or false, got '"
                    + System.getProperty(PROPERTY) + "'");
        };
    }

    /**
     * Why a prefill must run op by op even with graphs on, or null when a graph can hold it.
     *
     * @param cuda            whether the session's backend is CUDA's (graphs are)
     * @param hook            the prefill's pruning hook, null for none
     * @param rows            tokens the prefill appends
     * @param chunk           the session's prefill chunk
     * @param cacheLengths    entries each layer's cache holds before the prefill
     * @param headsPruned     whether any layer has query heads switched off
     * @param shiftedLayers   whether some layer's positions differ from the given ones (pruned tokens below it)
     */
    static String opByOpReason(boolean cuda, PruningHook hook, int rows, int chunk, int[] cacheLengths,
                               boolean headsPruned, boolean shiftedLayers) {
        if (!cuda) {
            return "the backend is not CUDA";
        }
        if (hook != null) {
            return "a pruning hook decides between layers on the host";
        }
        if (rows > chunk) {
            return rows + " rows need more than one prefill chunk of " + chunk;
        }
        for (int length : cacheLengths) {
            if (length != cacheLengths[0]) {
                return "the layers' caches hold different numbers of entries (pruned earlier)";
            }
        }
        if (headsPruned) {
            return "query heads were pruned earlier in the session";
        }
        if (shiftedLayers) {
            return "layers see shifted positions after earlier pruning";
        }
        return null;
    }

    /** What {@link #run} did with a prefill, and so what is left to the caller. */
    sealed interface Outcome {

        /** A graph ran (captured now, or replayed): the last layer's output is in {@code hidden} once the launch ran. */
        record Ran(Tensor hidden) implements Outcome {
        }

        /**
         * The key's first prefill: the caller runs it op by op over the key's rows, padded ones included, so that
         * the capture on the next call meets no GEMM shape cuBLASLt has not measured, then calls {@link #ranOpByOp}.
         */
        record FirstCall() implements Outcome {
        }

        /**
         * The key's capture or replay failed, now or before: the caller runs the prompt's exact rows op by op
         * (padding them would cost rows and buy nothing without a graph) and calls {@link #ranOpByOp}.
         */
        record KeptOpByOp() implements Outcome {
        }

        /**
         * The rows to run op by op for a prefill of {@code real} rows under {@code key}: the key's rows on its
         * first call, {@code real} once it is kept op by op; none after a graph ran.
         */
        default int opByOpRows(PrefillGraphKey key, int real) {
            return switch (this) {
                case Ran r -> throw new IllegalStateException("the prefill ran from a graph");
                case FirstCall f -> key.rows();
                case KeptOpByOp k -> real;
            };
        }
    }

    /**
     * Runs the prefill of {@code key} from a graph when it can ({@link Outcome.Ran}); else says how the caller
     * runs it op by op: over the key's rows on its first call ({@link Outcome.FirstCall}), over the exact rows
     * for keys whose capture or replay failed, now or before ({@link Outcome.KeptOpByOp}; on a failure now
     * {@code undo} restores the host state that queuing part of the work changed). After a graph ran the caller
     * sets the host bookkeeping of the prefill (a capture's queuing did it for {@code key.rows()} rows, a replay
     * did none).
     */
    Outcome run(CudaBackend cuda, PrefillGraphKey key, int width, int halfRotary, PrefillGraph.Inputs inputs,
                PrefillGraph.Work work, Runnable undo) {
        GraphCache.Decision<Boolean, PrefillGraph> decision = cache.next(key);
        return switch (decision.kind()) {
            case FIRST -> new Outcome.FirstCall();
            case EAGER -> new Outcome.KeptOpByOp();
            case CAPTURE -> capture(cuda, key, width, halfRotary, inputs, work, undo);
            case REPLAY -> {
                PrefillGraph graph = decision.entry();
                if (!launch(key, () -> graph.replay(inputs))) {
                    yield new Outcome.KeptOpByOp();
                }
                PrefillGraphCounters.replayed();
                yield new Outcome.Ran(graph.hidden());
            }
        };
    }

    /** Keeps {@code key} op by op from now on, as a failed capture or replay does (its graph, if any, freed). */
    void keepOpByOp(PrefillGraphKey key) {
        cache.keepEager(key);
    }

    /** Notes that a prefill of {@code key} ran op by op: its next call captures (unless it is kept op by op). */
    void ranOpByOp(PrefillGraphKey key) {
        PrefillGraphCounters.ranOpByOp();
        cache.firstCallDone(key, Boolean.TRUE);
    }

    /** Graphs held now (for tests). */
    int size() {
        return cache.size();
    }

    /** Captures the prefill of {@code key} (queuing it does its host bookkeeping) and launches it. */
    private Outcome capture(CudaBackend cuda, PrefillGraphKey key, int width, int halfRotary,
                            PrefillGraph.Inputs inputs, PrefillGraph.Work work, Runnable undo) {
        PrefillGraph graph;
        try {
            graph = PrefillGraph.capture(cuda, key.rows(), width, halfRotary, inputs, work);
        } catch (RuntimeException e) {
            LOG.warn("decoder prefills of {} rows run op by op, unpadded: capturing one as a CUDA graph failed ({})",
                    key.rows(), e.getMessage());
            undo.run();
            keepOpByOp(key);
            return new Outcome.KeptOpByOp();
        }
        cache.captured(key, graph);
        PrefillGraphCounters.captured();
        LOG.debug("decoder prefill: captured a CUDA graph for {} rows after {} entries ({} graphs held)", key.rows(),
                key.start(), cache.size());
        if (!launch(key, graph::launch)) {
            undo.run();
            return new Outcome.KeptOpByOp();
        }
        return new Outcome.Ran(graph.hidden());
    }

    /** Runs {@code launch}; a failure is logged and keeps {@code key} op by op (its graph freed). */
    private boolean launch(PrefillGraphKey key, Runnable launch) {
        try {
            launch.run();
            return true;
        } catch (RuntimeException e) {
            LOG.warn("decoder prefills of {} rows run op by op, unpadded: replaying their CUDA graph failed ({})",
                    key.rows(), e.getMessage());
            try {
                keepOpByOp(key);
            } catch (RuntimeException closing) {
                LOG.warn("freeing the failed prefill graph failed too ({})", closing.getMessage());
            }
            return false;
        }
    }

    /** Waits for the graphs' last replays and frees them. */
    @Override
    public void close() {
        cache.close();
    }
}
