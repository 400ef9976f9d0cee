package dev.glimpse.vlmruntime.decoder;

/**
 * The KV capacity a session allocates for the {@link SessionOptions#maxSequenceLength} it asks for:
 * that length rounded up to a multiple of {@value #PROPERTY} entries (read at every session; by
 * default {@value #DEFAULT_STEP}; {@code 0} allocates exactly what is asked, as before). A serving
 * process asks for prompt + max_tokens entries ({@code VisionLanguageModel#ask}), a different number
 * nearly every request, and the {@link SessionBufferPool} reuses its idle buffers, and the prefill
 * graphs they hold ({@link PrefillGraphs}), only for an equal {@link SessionBuffers.Shape}: with
 * buckets, successive requests of similar size share one set instead of freeing it and allocating and
 * zero-filling about 80 device buffers inside their time to first token.
 *
 * <p>Multiples of a fixed step rather than a geometric series, because the waste is then bounded
 * in entries, not in a fraction of a possibly long sequence: at most {@code step - 1} entries of KV
 * cache ({@code layers x 2 x kvHeads x headDim x} entry bytes each: 512 KiB for LLaVA-1.5-7B's BF16
 * cache, so under 128 MiB at a step of 256) and as many scratch rows while the prefill chunk is
 * the capacity ({@link SessionOptions#prefillRows}; about 240 KiB a row for Llama-7B). A step of 256
 * puts LLaVA-1.5-7B's 64-token-budget requests (74 to 164 prompt tokens in ServeMixBench's mix) in the
 * 256-entry bucket while prompt plus max_tokens stays within 256 (a 164-token prompt with 128 new tokens
 * takes the 512-entry one), and its full-budget ones (about 590 prompt tokens) with up to about 180 new
 * tokens in the 768-entry one.
 *
 * <p>Under buckets a session also takes an idle set larger than its bucket ({@link SessionBufferPool}),
 * so a mix whose requests straddle two buckets keeps the larger set and its graphs.
 *
 * <p>The session still holds at most what it asked for ({@link KvCache#limit()}): its "session is
 * full" checks and {@link KvCache#remaining()} count to the requested length; only padded prefill
 * rows ({@link PrefillPadding}) write into the entries past it.
 */
final class CapacityBuckets {

    /** System property: the bucket step in KV entries ({@value #DEFAULT_STEP} by default); {@code 0} for exact capacities. */
    static final String PROPERTY = "glimpse.decoder.capacityBucket";
    /**
     * The default step. On the H200 (2026-11-29, bundle 0cd2153, ServeMixBench, LLaVA-1.5-7B at a 64-token
     * budget, 30 requests of varying question lengths and max_tokens, 5 rounds in one JVM,
     * bench/results/h200-kernels-2026-11-29-session10.jsonl) 256-entry buckets took the median time to
     * first token from 12.91 to 11.77 ms (session open from 1,066 to 98 us), with the results unchanged:
     * the extra entries and rows are never read.
     */
    static final int DEFAULT_STEP = 256;

    private CapacityBuckets() {
    }

    /** The capacity to allocate for a session that asks for {@code requested} entries, under {@value #PROPERTY}. */
    static int capacity(int requested) {
        return capacity(requested, step());
    }

    /** {@code requested} rounded up to a multiple of {@code step} ({@code 0}: exactly {@code requested}). */
    static int capacity(int requested, int step) {
        if (requested < 1 || step < 0) {
            throw new IllegalArgumentException("capacity buckets take a request of >= 1 entries and a step >= 0, got "
                    + requested + " and " + step);
        }
        if (step == 0) {
            return requested;
        }
        long rounded = ((long) requested + step - 1) / step * step;
        return rounded > Integer.MAX_VALUE ? requested : (int) rounded;
    }

    /** The step {@value #PROPERTY} sets now ({@value #DEFAULT_STEP} when it is unset or blank). */
    static int step() {
        String value = System.getProperty(PROPERTY);
        if (value == null || value.isBlank()) {
            return DEFAULT_STEP;
        }
        try {
            int step = Integer.parseInt(value.trim());
            if (step >= 0) {
                return step;
            }
        } catch (NumberFormatException e) {
            // reported below with the property's name
        }
        throw new IllegalArgumentException("-D" + PROPERTY + " must be a number of KV entries >= 0 (0: exact), got '"
                + value + "'");
    }
}
