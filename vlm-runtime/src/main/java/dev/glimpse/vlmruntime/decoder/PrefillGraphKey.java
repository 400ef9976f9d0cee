package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.cuda.LaunchSettings;

import java.util.Properties;

/**
 * What must be equal for a captured decoder prefill to be replayed on one set of
 * {@link SessionBuffers} (whose shape already fixes the KV cache, scratch and dtypes): the rows the
 * prefill appends (every GEMM, attention grid and the 16-bit or F32 scratch follow from it), the
 * cache entry they start at (baked into the append offsets and the causal mask), and the
 * {@code glimpse.cuda.*} properties, which pick kernels at launch (fused prefill ops, GEMM
 * epilogues, attention shape) and so are fixed inside a graph.
 *
 * @param rows           tokens the prefill appends (one prefill chunk at most)
 * @param start          entries every layer's cache holds before it
 * @param launchSettings the {@code glimpse.cuda.*} properties but {@value PrefillGraphs#PROPERTY}
 */
record PrefillGraphKey(int rows, int start, String launchSettings) {

    /** The key of a prefill of {@code rows} after {@code start} entries, under {@code properties}. */
    static PrefillGraphKey of(int rows, int start, Properties properties) {
        return new PrefillGraphKey(rows, start, LaunchSettings.of(properties, PrefillGraphs.PROPERTY));
    }
}
