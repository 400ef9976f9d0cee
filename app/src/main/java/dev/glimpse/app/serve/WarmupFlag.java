package dev.glimpse.app.serve;

import java.time.Duration;
import java.util.Optional;

/**
 * {@code glimpse serve --warmup}: {@code auto} (on a GPU at most {@value #AUTO_SECONDS} s, off on the CPU, whose
 * prefills capture no graphs and measure no GEMM algorithms; the default), {@code off}, or a number of seconds (on,
 * on any device, at most that long).
 *
 * @param mode    which of the three
 * @param seconds the bound given ({@link Mode#SECONDS} only)
 */
record WarmupFlag(Mode mode, long seconds) {

    /**
     * The bound {@code auto} gives on a GPU: a limit, not a target (the warm-up ends when its plan is done); chosen
     * well above what it took on the H200 for LLaVA-1.5-7B (3.7 s, 18 requests; ServeWarmupBench, 2026-11-29,
     * commit 35a95c9).
     */
    static final long AUTO_SECONDS = 120;

    /** The flag's forms. */
    enum Mode {
        AUTO, OFF, SECONDS
    }

    /**
     * Parses the flag's value.
     *
     * @throws IllegalArgumentException naming the flag and its forms
     */
    static WarmupFlag parse(String value) {
        String v = value.strip();
        if (v.equalsIgnoreCase("auto")) {
            return new WarmupFlag(Mode.AUTO, 0);
        }
        if (v.equalsIgnoreCase("off")) {
            return new WarmupFlag(Mode.OFF, 0);
        }
        if (v.matches("\\d{1,9}") && Long.parseLong(v) >= 1) {
            return new WarmupFlag(Mode.SECONDS, Long.parseLong(v));
        }
        throw new IllegalArgumentException("--warmup must be auto, off or a number of seconds >= 1, got '" + value + "'");
    }

    /** The time the warm-up may take on a GPU ({@code gpu}) or on the CPU; empty: no warm-up. */
    Optional<Duration> bound(boolean gpu) {
        return switch (mode) {
            case AUTO -> gpu ? Optional.of(Duration.ofSeconds(AUTO_SECONDS)) : Optional.empty();
            case OFF -> Optional.empty();
            case SECONDS -> Optional.of(Duration.ofSeconds(seconds));
        };
    }
}
