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
 * @param rows           rows the graph runs (one prefill chunk at most): the tokens the prefill
 *                       appends, padded under {@value PrefillPadding#PROPERTY}
 * @param start          entries every layer's cache holds before it
 * @param layersOnly     whether the graph holds the layers alone, the last real row's final norm and
 *                       lm_head running after it (padding on: that row's index varies between the
 *                       prompts of one graph), rather than the whole prefill
 * @param launchSettings the {@code glimpse.cuda.*} properties but {@value PrefillGraphs#PROPERTY}
 */
record PrefillGraphKey(int rows, int start, boolean layersOnly, String launchSettings) {

    /** The key of a prefill running {@code rows} rows after {@code start} entries, under {@code properties}. */
    static PrefillGraphKey of(int rows, int start, boolean layersOnly, Properties properties) {
        return new PrefillGraphKey(rows, start, layersOnly, LaunchSettings.of(properties, PrefillGraphs.PROPERTY));
    }
}
