package dev.glimpse.kernels.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * Where one launch of the timed persistent decode kernel ({@code decode_persistent_timed.cu},
 * {@code -Dglimpse.cuda.decodeMegakernel.timers=true}) spent its time, from the {@code %globaltimer}
 * nanoseconds every block recorded: its start, then per layer and phase (q/k/v, attention, o_proj,
 * gate/up, down; each closed by a grid barrier) its arrival at and release from the barrier.
 *
 * <p>Per (layer, phase) and block: work = arrival - the block's previous release (its start for the
 * first phase), the phase's own compute, loads and the next phase's L2 prefetches; wait = release -
 * arrival, the time the block idled at the barrier. Per (layer, phase): the median and max of both
 * over the blocks, and the barrier latency, first release - last arrival (what the barrier itself
 * costs once every block is there). {@link #phases} averages these over the layers, so the phases'
 * work max plus barrier latency add up to about a layer's time.
 */
public final class PersistentPhaseTimes {

    /** The phases of a layer, in order; each ends at one grid barrier (decode_persistent.cuh PD_PHASES). */
    public static final List<String> PHASES = List.of("qkv", "attention", "o_proj", "gate_up", "down");

    /** One phase's times in microseconds, means over the layers of the per-layer values. */
    public record Phase(String name, double workMedianUs, double workMaxUs, double waitMedianUs, double waitMaxUs,
                        double barrierLatencyUs) {
    }

    private final long[] timers;
    private final int blocks;
    private final int layers;

    private PersistentPhaseTimes(long[] timers, int blocks, int layers) {
        this.timers = timers;
        this.blocks = blocks;
        this.layers = layers;
    }

    /**
     * The records of one launch: {@code timers} holds {@code blocks} start times, then
     * [layers][{@link #PHASES}][blocks][arrival, release], nanoseconds.
     */
    public static PersistentPhaseTimes of(long[] timers, int blocks, int layers) {
        long expected = longs(blocks, layers);
        if (blocks <= 0 || layers <= 0 || timers.length != expected) {
            throw new IllegalArgumentException(timers.length + " timer values for " + blocks + " blocks and " + layers
                    + " layers (expected " + expected + ")");
        }
        return new PersistentPhaseTimes(timers.clone(), blocks, layers);
    }

    /** The u64 values a launch of {@code blocks} blocks over {@code layers} layers records. */
    public static long longs(int blocks, int layers) {
        return (long) blocks + 2L * layers * PHASES.size() * blocks;
    }

    public int blocks() {
        return blocks;
    }

    public int layers() {
        return layers;
    }

    /** Block b's arrival at the barrier closing (layer, phase). */
    public long arrival(int layer, int phase, int block) {
        return timers[slot(layer, phase, block)];
    }

    /** Block b's release from the barrier closing (layer, phase). */
    public long release(int layer, int phase, int block) {
        return timers[slot(layer, phase, block) + 1];
    }

    /** Block b's release from the barrier before (layer, phase): its start for the first phase of the first layer. */
    public long previousRelease(int layer, int phase, int block) {
        if (phase > 0) {
            return release(layer, phase - 1, block);
        }
        return layer > 0 ? release(layer - 1, PHASES.size() - 1, block) : timers[block];
    }

    /**
     * Null when every block's records run forward (release >= arrival >= previous release at every
     * barrier), else the first record that does not, named.
     */
    public String firstDisorder() {
        for (int layer = 0; layer < layers; layer++) {
            for (int phase = 0; phase < PHASES.size(); phase++) {
                for (int b = 0; b < blocks; b++) {
                    long before = previousRelease(layer, phase, b);
                    long arrival = arrival(layer, phase, b);
                    long release = release(layer, phase, b);
                    if (arrival < before || release < arrival) {
                        return String.format(Locale.ROOT, "layer %d %s block %d: previous release %d, arrival %d, release %d",
                                layer, PHASES.get(phase), b, before, arrival, release);
                    }
                }
            }
        }
        return null;
    }

    /** Last release of the last phase - first block start: the launch's span as the blocks saw it, microseconds. */
    public double spanUs() {
        long first = Long.MAX_VALUE;
        long last = Long.MIN_VALUE;
        for (int b = 0; b < blocks; b++) {
            first = Math.min(first, timers[b]);
            last = Math.max(last, release(layers - 1, PHASES.size() - 1, b));
        }
        return (last - first) / 1e3;
    }

    /**
     * The smallest positive step between two recorded times, nanoseconds (0 when all are equal): the
     * timer's granularity as seen, which bounds how fine the phase times are.
     */
    public long resolutionNs() {
        long[] sorted = timers.clone();
        Arrays.sort(sorted);
        long best = 0;
        for (int i = 1; i < sorted.length; i++) {
            long step = sorted[i] - sorted[i - 1];
            if (step > 0 && (best == 0 || step < best)) {
                best = step;
            }
        }
        return best;
    }

    /** Every phase's times, means over the layers. */
    public List<Phase> phases() {
        List<Phase> out = new ArrayList<>(PHASES.size());
        long[] work = new long[blocks];
        long[] wait = new long[blocks];
        for (int phase = 0; phase < PHASES.size(); phase++) {
            double[] sums = new double[5];
            for (int layer = 0; layer < layers; layer++) {
                long lastArrival = Long.MIN_VALUE;
                long firstRelease = Long.MAX_VALUE;
                for (int b = 0; b < blocks; b++) {
                    long arrival = arrival(layer, phase, b);
                    long release = release(layer, phase, b);
                    work[b] = arrival - previousRelease(layer, phase, b);
                    wait[b] = release - arrival;
                    lastArrival = Math.max(lastArrival, arrival);
                    firstRelease = Math.min(firstRelease, release);
                }
                Arrays.sort(work);
                Arrays.sort(wait);
                sums[0] += median(work);
                sums[1] += work[blocks - 1];
                sums[2] += median(wait);
                sums[3] += wait[blocks - 1];
                sums[4] += firstRelease - lastArrival;
            }
            double toUs = 1e3 * layers;
            out.add(new Phase(PHASES.get(phase), sums[0] / toUs, sums[1] / toUs, sums[2] / toUs, sums[3] / toUs,
                    sums[4] / toUs));
        }
        return out;
    }

    /** The phases as a JSON array of objects ({@code "phase"}, {@code "work_us_median"}, ...), for bench lines. */
    public String phasesJson() {
        StringJoiner all = new StringJoiner(",", "[", "]");
        for (Phase p : phases()) {
            all.add(String.format(Locale.ROOT,
                    "{\"phase\":\"%s\",\"work_us_median\":%.3f,\"work_us_max\":%.3f,\"wait_us_median\":%.3f,"
                            + "\"wait_us_max\":%.3f,\"barrier_latency_us\":%.3f}",
                    p.name(), p.workMedianUs(), p.workMaxUs(), p.waitMedianUs(), p.waitMaxUs(), p.barrierLatencyUs()));
        }
        return all.toString();
    }

    private int slot(int layer, int phase, int block) {
        return blocks + ((layer * PHASES.size() + phase) * blocks + block) * 2;
    }

    /** The median of sorted values (the mean of the middle two for an even count). */
    private static double median(long[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0;
    }
}
