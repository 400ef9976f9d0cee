package dev.glimpse.vlmruntime.decoder;

import java.util.concurrent.atomic.LongAdder;

/**
 * What graph-eligible decoder prefills did in this JVM ({@link PrefillGraphs}): ran op by op (a
 * key's first prefill, or one whose capture or replay failed), captured a graph, or replayed one.
 * Benchmarks read {@link #snapshot} before and after a run of requests to tell whether a serving
 * mix replays its graphs; counting costs one {@link LongAdder} increment per prefill.
 */
public final class PrefillGraphCounters {

    private static final LongAdder OP_BY_OP = new LongAdder();
    private static final LongAdder CAPTURES = new LongAdder();
    private static final LongAdder REPLAYS = new LongAdder();

    private PrefillGraphCounters() {
    }

    /**
     * Counts so far.
     *
     * @param opByOp   graph-eligible prefills that ran op by op
     * @param captures prefills that captured a graph (and launched it)
     * @param replays  prefills that replayed a graph
     */
    public record Snapshot(long opByOp, long captures, long replays) {

        /** The counts from {@code earlier} to this snapshot. */
        public Snapshot since(Snapshot earlier) {
            return new Snapshot(opByOp - earlier.opByOp, captures - earlier.captures, replays - earlier.replays);
        }
    }

    /** The counts now. */
    public static Snapshot snapshot() {
        return new Snapshot(OP_BY_OP.sum(), CAPTURES.sum(), REPLAYS.sum());
    }

    static void ranOpByOp() {
        OP_BY_OP.increment();
    }

    static void captured() {
        CAPTURES.increment();
    }

    static void replayed() {
        REPLAYS.increment();
    }
}
