package dev.glimpse.vlmruntime.decoder;

import java.util.Arrays;

/**
 * Graph prefills over rows padded up to a multiple of {@value #PROPERTY} (read at every prefill; {@code 0} by
 * default, exactly the prompt's rows, for one-shot commands; {@code glimpse serve} sets 16 unless given, after
 * ServeMixBench on the H200 measured it: 2026-11-29, bundle f108e9b, LLaVA-1.5-7B at a 64-token budget, TTFT
 * median 0.810x of exact capacities and rows, bench/results/h200-kernels-2026-11-29-session10.jsonl), so prompts of 65 to 80
 * tokens share the one CUDA graph of 80 rows ({@link PrefillGraphs}, keyed by rows) instead of each
 * length running op by op, then capturing, before it replays: a serving process sees a new question
 * length nearly every request.
 *
 * <p>Why the padded rows change nothing the session keeps: they come after the real ones, and
 * attention is causal (row i reads cache entries up to start + i), so no real row reads their keys;
 * every other op of a layer (norms, GEMMs, activations) works row by row. Their inputs are copies
 * of the last real row's embedding at its position ({@link #sourceRows}, {@link #positions}): the
 * values of a real token, finite, so a masked probability of 0 times their values stays 0 in any
 * kernel that loads them. Their KV entries land past the entries the session records (the real
 * rows; {@link KvCache#recordAppended}), where every reader stops (decode attention at the recorded
 * length + 1, a later prefill's attention at its own causal limit after its append overwrote
 * them, the persistent decode step at the device lengths, pruning only at recorded entries) and the
 * next appends overwrite them. The logits come from the last real row, whose index differs between
 * prompts of one graph, so a padded graph holds the layers only and the final norm and lm_head of
 * that row run after it ({@code DecoderSession}); nothing inside it depends on the real row count
 * (the appends, key counts and causal masks it bakes are the padded rows', start + i for row i,
 * which for a real row are its own), so the graph's key is the padded rows. A padded prefill's first run, op by op, runs the
 * padded rows too, so the graph's capture meets no GEMM shape cuBLASLt has not measured yet.
 *
 * <p>Rows are padded only where they fit: in one prefill chunk (the scratch) and in the KV cache's
 * allocated capacity past its entries ({@link KvCache#capacity()}, with {@link CapacityBuckets}
 * usually larger than the session's limit); otherwise the graph holds the exact rows.
 */
final class PrefillPadding {

    /** System property: the row quantum graph prefills are padded to; {@code 0} (the library's default; blank too) for exact rows. */
    static final String PROPERTY = "glimpse.cuda.prefillPadRows";

    private PrefillPadding() {
    }

    /** The quantum {@value #PROPERTY} sets now (0 when it is unset or blank). */
    static int quantum() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return 0;
        }
        try {
            int quantum = Integer.parseInt(value.trim());
            if (quantum >= 0) {
                return quantum;
            }
        } catch (NumberFormatException e) {
            // reported below with the property's name
        }
        throw new IllegalArgumentException("-D" + PROPERTY + " must be a number of rows >= 0 (0: exact rows), got '"
                + value + "'");
    }

    /**
     * The rows a graph prefill of {@code rows} real rows runs: {@code rows} rounded up to a multiple
     * of {@code quantum}, or {@code rows} itself when {@code quantum} is 0 or the padded rows would
     * exceed {@code room} (the prefill chunk, and the KV entries allocated past the cache's length).
     */
    static int rows(int rows, int quantum, int room) {
        if (rows < 1 || quantum < 0) {
            throw new IllegalArgumentException("padding takes >= 1 rows and a quantum >= 0, got " + rows + " and "
                    + quantum);
        }
        if (quantum == 0) {
            return rows;
        }
        long padded = ((long) rows + quantum - 1) / quantum * quantum;
        return padded <= room ? (int) padded : rows;
    }

    /** The embedding row each of {@code padded} rows copies: the real rows {@code 0 .. real - 1}, then the last one. */
    static int[] sourceRows(int real, int padded) {
        int[] rows = new int[padded];
        for (int i = 0; i < padded; i++) {
            rows[i] = Math.min(i, real - 1);
        }
        return rows;
    }

    /**
     * The positions of {@code padded} rows: the real rows' {@code positions}, then the last of them
     * again (a position the rotary tables serve whenever they serve the prompt's; the padded rows'
     * positions reach no real row).
     */
    static int[] positions(int[] positions, int padded) {
        int[] out = Arrays.copyOf(positions, padded);
        Arrays.fill(out, positions.length, padded, positions[positions.length - 1]);
        return out;
    }
}
