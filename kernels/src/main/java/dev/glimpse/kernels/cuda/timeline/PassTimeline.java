package dev.glimpse.kernels.cuda.timeline;

import java.util.Comparator;
import java.util.List;

/**
 * The kernels one pass (a prefill, a vision tower, a decode step) ran, in start order, between two
 * host marks on CUPTI's clock: {@code hostStartNs} taken once the device was idle, before the
 * pass queued anything, and {@code hostEndNs} once the device was idle again after it. The marks
 * bound the pass's wall time as the host sees it, launch latency and the final wait included.
 */
public record PassTimeline(String pass, long hostStartNs, long hostEndNs, List<KernelRecord> kernels) {

    public PassTimeline {
        if (hostEndNs < hostStartNs) {
            throw new IllegalArgumentException("pass " + pass + " ends before it starts");
        }
        kernels = kernels.stream().sorted(Comparator.comparingLong(KernelRecord::startNs)).toList();
    }

    /** Nanoseconds between the host marks. */
    public long wallNs() {
        return hostEndNs - hostStartNs;
    }
}
