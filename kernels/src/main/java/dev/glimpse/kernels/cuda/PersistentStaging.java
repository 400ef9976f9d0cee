package dev.glimpse.kernels.cuda;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntPredicate;

/**
 * How many weight groups the staged persistent kernels ({@code decode_layers_*_staged},
 * {@code -Dglimpse.cuda.decodeMegakernel=staged}) copy into shared memory ahead of their phase, and
 * where (decode_persistent.cuh {@code StagePlan}). Each block stages its first {@code gateUpGroups}
 * gate/up groups (at the start of the layer, read in the gate/up phase) and its first
 * {@code downGroups} down groups (at the start of the gate/up phase, read in the down phase). The
 * dynamic shared memory, in bytes:
 * <pre>
 *   [0, downAt)               stage_normed's xs, gs and stage_plain's act in the gate/up and down
 *                             phases: max(2 hidden, inter) floats
 *   [downAt, downAt + D)      region D, downGroups down groups; it overlaps only the part of the
 *                             phase scratch that the attention phase and its merges use
 *   [gateUpAt, sharedBytes)   region GU, gateUpGroups gate/up groups, past the whole phase scratch
 *                             (every phase from q/k/v to the gate/up one uses it while GU is live)
 * </pre>
 * with gateUpAt = max(unstaged scratch, downAt + D), 16-byte aligned. A group is what one block
 * computes at once: PD_WARPS / split warp groups of PD_R rows (gate/up: PD_PAIRS gate and PD_PAIRS up
 * rows) of k 16-bit weights.
 *
 * @param gateUpGroups gate/up groups each block stages (its first ones)
 * @param downGroups   down groups each block stages (its first ones)
 * @param gateUpAt     region GU's byte offset
 * @param downAt       region D's byte offset
 * @param sharedBytes  the dynamic shared memory the launch asks for
 */
record PersistentStaging(int gateUpGroups, int downGroups, int gateUpAt, int downAt, int sharedBytes) {

    /** PD_WARPS, PD_R and PD_PAIRS of decode_persistent.cuh. */
    private static final int WARPS = 8;
    private static final int ROWS_PER_WARP = 4;
    private static final int PAIRS_PER_WARP = 2;
    /** Bytes per weight (F16/BF16). */
    private static final int WEIGHT_BYTES = 2;
    /** sizeof(StagePlan): 4 ints. */
    static final int PLAN_BYTES = 16;

    /**
     * The staging that keeps the most weight bytes off the phases' critical path, counted over the
     * grid (a block stages only groups it has: min(groups per block, the groups it computes)), among
     * those whose shared memory {@code fits} (the caller's test: the device allows it and the grid keeps
     * its blocks per SM); the smaller shared memory on ties. With none staged it still runs
     * ({@code gateUpGroups = downGroups = 0}: the unstaged kernels' work in the staged kernel).
     *
     * @param hidden        the hidden size (gate/up k, down n)
     * @param inter         the MLP intermediate size (gate/up n, down k)
     * @param unstagedBytes the unstaged kernels' dynamic shared memory (phase scratch, attention, merges)
     * @param grid          the blocks of the launch
     * @param splitGateUp   the gate/up phase's k split (warps per warp group)
     * @param splitDown     the down phase's k split
     * @param fits          whether a launch with this many dynamic shared bytes keeps the grid's occupancy
     */
    static PersistentStaging choose(int hidden, int inter, int unstagedBytes, int grid, int splitGateUp, int splitDown,
                                    IntPredicate fits) {
        long gateUpGroupBytes = gateUpGroupBytes(hidden, splitGateUp);
        long downGroupBytes = downGroupBytes(inter, splitDown);
        long gateUpGroups = ceilDiv(inter, (long) PAIRS_PER_WARP * (WARPS / splitGateUp));
        long downGroups = ceilDiv(hidden, (long) ROWS_PER_WARP * (WARPS / splitDown));
        PersistentStaging best = layout(hidden, inter, unstagedBytes, 0, 0, gateUpGroupBytes, downGroupBytes);
        long bestStaged = 0;
        for (int gu = 0; gu <= ceilDiv(gateUpGroups, grid); gu++) {
            for (int down = 0; down <= ceilDiv(downGroups, grid); down++) {
                PersistentStaging candidate = layout(hidden, inter, unstagedBytes, gu, down, gateUpGroupBytes, downGroupBytes);
                if (candidate == null || !fits.test(candidate.sharedBytes)) {
                    continue;
                }
                long staged = Math.min((long) gu * grid, gateUpGroups) * gateUpGroupBytes
                        + Math.min((long) down * grid, downGroups) * downGroupBytes;
                if (staged > bestStaged || staged == bestStaged && candidate.sharedBytes < best.sharedBytes) {
                    best = candidate;
                    bestStaged = staged;
                }
            }
        }
        return best;
    }

    /** The layout of gu gate/up and down down groups per block (class comment), or null past 2 GiB. */
    static PersistentStaging layout(int hidden, int inter, int unstagedBytes, int gu, int down, long gateUpGroupBytes,
                                    long downGroupBytes) {
        long downAt = align16((long) Math.max(2 * hidden, inter) * Float.BYTES);
        long gateUpAt = align16(Math.max(unstagedBytes, downAt + down * downGroupBytes));
        long shared = gateUpAt + gu * gateUpGroupBytes;
        if (shared > Integer.MAX_VALUE) {
            return null;
        }
        return new PersistentStaging(gu, down, (int) gateUpAt, (int) downAt, (int) shared);
    }

    /** One gate/up group: the block's warp groups' PD_R rows (PD_PAIRS gate, PD_PAIRS up) of hidden weights. */
    static long gateUpGroupBytes(int hidden, int splitGateUp) {
        return (long) (WARPS / splitGateUp) * ROWS_PER_WARP * hidden * WEIGHT_BYTES;
    }

    /** One down group: the block's warp groups' PD_R rows of inter weights. */
    static long downGroupBytes(int inter, int splitDown) {
        return (long) (WARPS / splitDown) * ROWS_PER_WARP * inter * WEIGHT_BYTES;
    }

    /** The kernel's StagePlan argument (offsets in 16-byte units), written into {@code plan} (PLAN_BYTES). */
    void write(MemorySegment plan) {
        plan.set(ValueLayout.JAVA_INT, 0, gateUpGroups);
        plan.set(ValueLayout.JAVA_INT, 4, downGroups);
        plan.set(ValueLayout.JAVA_INT, 8, gateUpAt / 16);
        plan.set(ValueLayout.JAVA_INT, 12, downAt / 16);
    }

    private static long align16(long bytes) {
        return (bytes + 15) & ~15L;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
