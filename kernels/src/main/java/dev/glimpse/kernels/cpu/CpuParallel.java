package dev.glimpse.kernels.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits index ranges over the CPU backend's worker pool. Work smaller than {@code grain} runs on
 * the calling thread, so tiny ops pay no scheduling cost.
 *
 * <p>The calling thread works too: it wakes threads - 1 pool helpers and claims chunks alongside
 * them, in order, then spins briefly (parks after that) until the last claimed chunk is done. A
 * call that waited in the pool instead paid two thread wake-ups, 24-40 us for an empty loop on
 * the 2-core reference machine (the decoder makes about 200 such calls per token).
 */
public final class CpuParallel {

    /** Body of a parallel loop over {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(int from, int to);
    }

    private static final ForkJoinPool POOL = createPool();

    private CpuParallel() {
    }

    /** Number of worker threads (system property {@code glimpse.threads}, default all cores). */
    public static int threads() {
        return POOL.getParallelism();
    }

    /** Runs {@code body} over {@code [0, n)} in chunks of at least {@code grain} indices. */
    public static void forRange(int n, int grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        int g = Math.max(1, grain);
        int threads = threads();
        if (threads == 1 || n <= g || inWorker()) {
            body.run(0, n);
            return;
        }
        int chunks = Math.min(threads * 4, (n + g - 1) / g);
        new Loop(body, n, chunks).run(threads - 1);
    }

    private static boolean inWorker() {
        return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static ForkJoinPool createPool() {
        int n = Integer.getInteger("glimpse.threads", Runtime.getRuntime().availableProcessors());
        return new ForkJoinPool(Math.max(1, n));
    }

    /** One parallel loop: chunks claimed in order by the caller and by helpers from the pool. */
    private static final class Loop {
        /** Spin-wait iterations before the caller parks. */
        private static final int SPINS = 1 << 12;

        private final RangeBody body;
        private final int n;
        private final int chunks;
        private final Thread caller = Thread.currentThread();
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private volatile Throwable failure;

        Loop(RangeBody body, int n, int chunks) {
            this.body = body;
            this.n = n;
            this.chunks = chunks;
        }

        void run(int helpers) {
            for (int i = 0; i < Math.min(helpers, chunks - 1); i++) {
                POOL.execute(this::work);
            }
            work();
            for (int spin = 0; done.get() < chunks; spin++) {
                if (spin < SPINS) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.park(this);
                }
            }
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }

        private void work() {
            for (int c = next.getAndIncrement(); c < chunks; c = next.getAndIncrement()) {
                try {
                    if (failure == null) {
                        body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                    }
                } catch (RuntimeException | Error e) {
                    if (failure == null) {
                        failure = e;
                    }
                } finally {
                    if (done.incrementAndGet() == chunks) {
                        LockSupport.unpark(caller);
                    }
                }
            }
        }
    }
}
