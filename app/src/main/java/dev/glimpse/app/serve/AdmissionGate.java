package dev.glimpse.app.serve;

import java.util.concurrent.Semaphore;

/**
 * Bounds the caption requests in the service: at most {@code maxConcurrent} run the model and at
 * most {@code maxQueued} more wait for it; a request beyond that is refused at once (503) before
 * its body is read, so an overloaded service neither buffers uploads nor lets a queue grow.
 */
final class AdmissionGate {

    /** Work that holds a running slot. */
    @FunctionalInterface
    interface Work<T, E extends Exception> {
        T run() throws E;
    }

    private final Semaphore admitted;
    private final Semaphore running;

    AdmissionGate(int maxConcurrent, int maxQueued) {
        this.admitted = new Semaphore(maxConcurrent + maxQueued);
        this.running = new Semaphore(maxConcurrent, true);
    }

    /** A place in the service, or a 503 when running and queued places are all taken; close it to leave. */
    Ticket admit() {
        if (!admitted.tryAcquire()) {
            throw new HttpError(503, "overloaded", "the server is busy (all --max-concurrent and --max-queued "
                    + "places are taken); retry later");
        }
        return new Ticket();
    }

    /** An admitted request's place. */
    final class Ticket implements AutoCloseable {

        private boolean closed;

        private Ticket() {
        }

        /** Waits for a running slot (in admission order), then runs {@code work} holding it. */
        <T, E extends Exception> T whenRunning(Work<T, E> work) throws E {
            try {
                running.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new HttpError(503, "shutting_down", "the server is shutting down");
            }
            try {
                return work.run();
            } finally {
                running.release();
            }
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                admitted.release();
            }
        }
    }
}
