package dev.glimpse.kernels.cuda;

import java.util.Locale;

/**
 * How {@link CudaBackend#forkL2Prefetch} brings a tensor's bytes into L2, and whether a small-row
 * decoder prefill does so at all: {@code -Dglimpse.cuda.prefillL2Prefetch=false|true|lines|bulk}
 * (default {@code false}; read at every prefill, so a benchmark can flip it between requests).
 */
public enum L2PrefetchMode {
    /** No prefetch: the default, the prefill as before. */
    OFF,
    /** One {@code prefetch.global.L2} per 128-byte line ({@code true} picks it: the instruction the GEMVs already use). */
    LINES,
    /**
     * {@code cp.async.bulk.prefetch.L2} in {@value CudaL2Prefetch#BULK_CHUNK_BYTES}-byte chunks: a few
     * thousand instructions walked by the copy engine instead of one per line (sm_90+; on older GPUs
     * the kernel prefetches line by line).
     */
    BULK;

    /** The system property that picks the mode. */
    public static final String PROPERTY = "glimpse.cuda.prefillL2Prefetch";

    /** The mode {@value #PROPERTY} names now; an unknown value fails naming the accepted ones. */
    public static L2PrefetchMode configured() {
        String value = System.getProperty(PROPERTY, "false").trim().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "false", "off" -> OFF;
            case "true", "lines" -> LINES;
            case "bulk" -> BULK;
            default -> throw new IllegalArgumentException("-D" + PROPERTY + "=" + value
                    + " is not one of false, true, lines, bulk");
        };
    }
}
