package dev.glimpse.kernels.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.RecursiveAction;

/**
 * Splits index ranges over the CPU backend's worker pool. Work smaller than {@code grain} runs on
 * the calling thread, so tiny ops pay no scheduling cost.
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
        POOL.invoke(new Chunk(body, 0, n, chunks));
    }

    private static boolean inWorker() {
        return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == POOL;
    }

    private static ForkJoinPool createPool() {
        int n = Integer.getInteger("glimpse.threads", Runtime.getRuntime().availableProcessors());
        return new ForkJoinPool(Math.max(1, n));
    }

    private static final class Chunk extends RecursiveAction {
        private final RangeBody body;
        private final int from;
        private final int to;
        private final int chunks;

        Chunk(RangeBody body, int from, int to, int chunks) {
            this.body = body;
            this.from = from;
            this.to = to;
            this.chunks = chunks;
        }

        @Override
        protected void compute() {
            if (chunks <= 1) {
                body.run(from, to);
                return;
            }
            int leftChunks = chunks / 2;
            int mid = from + (int) ((long) (to - from) * leftChunks / chunks);
            invokeAll(new Chunk(body, from, mid, leftChunks), new Chunk(body, mid, to, chunks - leftChunks));
        }
    }
}
