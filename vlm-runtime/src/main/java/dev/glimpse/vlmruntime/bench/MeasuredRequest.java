package dev.glimpse.vlmruntime.bench;

import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;

/**
 * One request of {@link CudaLlavaBench} up to its first token, in the two parts its time to first
 * token adds up: {@link #prepare} (image processing, upload, tower, pruning, projector, tokenize,
 * splice, with the plan's visual hooks) and {@link #firstToken} (the decoder session, the prefill
 * with the plan's decoder hook, the greedy first token). The bench times it, warms it up and
 * records its kernel timeline ({@link LlavaPassTimelines}) through this one class, so all three
 * run the same request on the same session shape ({@link #sessionOptions}). {@link #close} frees
 * the session and the prepared prompt, in that order.
 */
final class MeasuredRequest implements AutoCloseable {

    private final LlavaModel model;
    private final String prompt;
    private final VisualInput input;
    private final RequestPruning pruning;
    private final int steps;
    private final int chunk;
    private PreparedPrompt prepared;
    private DecoderSession session;
    private long prefillQueuedNanos;

    /** A request of {@code prompt} over {@code input} under {@code plan} whose session can decode {@code steps} tokens. */
    MeasuredRequest(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, int steps, int chunk) {
        this.model = model;
        this.prompt = prompt;
        this.input = input;
        this.pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
        this.steps = steps;
        this.chunk = chunk;
    }

    /**
     * The session of a request of {@code promptTokens} that decodes {@code steps} tokens: room for
     * the prompt, the steps and 8 more, prefill chunks of {@code chunk} rows. Its shape selects the
     * pooled session buffers, which hold the prefill graphs; its capacity sizes the scratch the
     * stacked q/k/v and gate/up products write into.
     */
    static SessionOptions sessionOptions(int promptTokens, int steps, int chunk) {
        return SessionOptions.of(promptTokens + steps + 8).withPrefillChunkSize(chunk);
    }

    /** Runs one request to its first token and frees it: a warm-up of exactly the measured request. */
    static void runToFirstToken(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, int steps,
                                int chunk) {
        try (MeasuredRequest request = new MeasuredRequest(model, prompt, input, plan, steps, chunk)) {
            request.prepare();
            request.firstToken();
        }
    }

    /** The visual stage: prepares the prompt with the plan's visual hooks (queued; waits for nothing it need not). */
    void prepare() {
        prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
    }

    /** Opens the session, prefills the prepared prompt with the plan's decoder hook and returns the greedy first token. */
    int firstToken() {
        if (prepared == null) {
            throw new IllegalStateException("prepare the request before its first token");
        }
        session = model.decoder().newSession(sessionOptions(prepared.inputIds().length, steps, chunk));
        session.prefill(prepared.embeddings(), prepared.positions(), pruning.decoderHook(prepared));
        prefillQueuedNanos = System.nanoTime();
        return session.greedyToken();
    }

    /**
     * When {@link #firstToken}'s prefill call returned, in {@link System#nanoTime} time (0 before):
     * with the prefill replayed from its graph, when the host had queued all of the request's
     * device work but the first token's argmax and download, without having waited for the device.
     * Earlier than the end of the request's visual stage on the device means the host was ahead of
     * the device at the seam between the vision tower and the prefill, and no host work there
     * delayed the first token.
     */
    long prefillQueuedNanos() {
        return prefillQueuedNanos;
    }

    /** The prepared prompt, after {@link #prepare}. */
    PreparedPrompt prepared() {
        return prepared;
    }

    /** The open session, after {@link #firstToken}: decode steps continue in it. */
    DecoderSession session() {
        return session;
    }

    @Override
    public void close() {
        try {
            if (session != null) {
                session.close();
            }
        } finally {
            if (prepared != null) {
                prepared.close();
            }
        }
    }
}
