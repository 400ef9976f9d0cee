package dev.glimpse.app;

import java.io.PrintStream;

/**
 * A one-line progress bar on stderr for long CLI work, redrawn in place. Draws only when stderr is
 * a terminal, so that logs and scripted runs stay clean.
 */
final class ProgressBar implements AutoCloseable {

    private static final int WIDTH = 30;

    private final PrintStream out;
    private final String label;
    private final long total;
    private final boolean enabled;
    private long done;

    ProgressBar(String label, long total) {
        this(System.err, label, total, System.console() != null && System.console().isTerminal());
    }

    ProgressBar(PrintStream out, String label, long total, boolean enabled) {
        this.out = out;
        this.label = label;
        this.total = Math.max(1, total);
        this.enabled = enabled;
    }

    /** Marks one more unit done and redraws. */
    void step() {
        done++;
        if (enabled) {
            int filled = (int) (WIDTH * Math.min(done, total) / total);
            out.print("\r" + label + " [" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] " + done + "/" + total);
            out.flush();
        }
    }

    @Override
    public void close() {
        if (enabled && done > 0) {
            out.println();
        }
    }
}
