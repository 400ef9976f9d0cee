package dev.glimpse.vlmruntime.generate;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillResult;
import dev.glimpse.vlmruntime.text.StreamingDecoder;
import dev.glimpse.vlmruntime.text.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;

/**
 * The generation loop of HF's {@code GenerationMixin._sample} for one sequence: prefill, then per
 * step the logits processors ({@link LogitsProcessor#pipeline}), the next token (argmax or a seeded
 * draw), the stopping checks (eos ids, stop strings, max new tokens, cache capacity) and a decode
 * step. Greedy decoding without logits processors on a session that decodes ahead
 * ({@link DecoderSession#decodesAhead}) picks its tokens on the device through
 * {@link DecoderSession#decodeGreedy}, with the same checks per token. Immutable and shareable; each
 * call works on the caller's {@link DecoderSession}.
 */
public final class Generator {

    private static final Logger LOG = LoggerFactory.getLogger(Generator.class);

    private final Decoder decoder;
    private final Tokenizer tokenizer;

    /** @param tokenizer null to generate ids only (no text, no stop strings) */
    public Generator(Decoder decoder, Tokenizer tokenizer) {
        this.decoder = decoder;
        this.tokenizer = tokenizer;
    }

    /** Generates after a prompt given as token ids, in a fresh region of {@code session}. */
    public GenerationResult generate(DecoderSession session, int[] promptIds, GenerationOptions options,
                                     TokenListener listener) {
        try (Tensor embeddings = decoder.embed(promptIds)) {
            return generate(session, new PromptInput(embeddings, session.consecutivePositions(promptIds.length),
                    promptIds, null), options, listener);
        }
    }

    /** Prefills {@code prompt} into {@code session} and generates. */
    public GenerationResult generate(DecoderSession session, PromptInput prompt, GenerationOptions options,
                                     TokenListener listener) {
        StopStrings stopStrings = new StopStrings(options.stopStrings());
        if (!stopStrings.isEmpty() && tokenizer == null) {
            throw new IllegalArgumentException("stop strings need a tokenizer; none is attached to this Generator");
        }
        int vocab = decoder.config().vocabSize();
        List<LogitsProcessor> processors = LogitsProcessor.pipeline(options);
        LogitsProcessor.Workspace workspace = new LogitsProcessor.Workspace(vocab);
        TokenHistory history = new TokenHistory(vocab);
        history.addAll(prompt.inputIds());
        TokenSampler sampler = new TokenSampler(options.doSample(), options.seed());
        Steps steps = new Steps(session, options, stopStrings, history, listener,
                tokenizer == null ? null : tokenizer.streamingDecoder(true));
        PrefillResult prefill = session.prefill(prompt.embeddings(), prompt.positions(), prompt.hook());
        long decodeStart = System.nanoTime();
        if (options.maxNewTokens() > 0 && !options.doSample() && processors.isEmpty() && session.decodesAhead()) {
            session.decodeGreedy(options.maxNewTokens(), steps::take);
        } else {
            float[] scores = new float[vocab];
            while (steps.count < options.maxNewTokens()) {
                session.copyLogits(scores);
                for (LogitsProcessor p : processors) {
                    p.apply(scores, history, workspace);
                }
                int token = sampler.next(scores);
                if (!steps.take(token)) {
                    break;
                }
                session.decode(token);
            }
        }
        int count = steps.count;
        long decodeNanos = count == 0 ? 0 : System.nanoTime() - decodeStart;
        listener.onEnd(steps.stream == null ? "" : steps.stream.flush());
        int[] tokens = Arrays.copyOf(steps.generated, count);
        String decoded = tokenizer == null ? null : tokenizer.decode(tokens, true);
        GenerationResult result = new GenerationResult(tokens, decoded, prompt.inputIds().length, steps.reason, prefill,
                decodeNanos);
        LOG.debug("generated {} tokens ({}) after a {}-token prefill in {} ms; decode {} tok/s", count, steps.reason,
                prefill.tokens(), prefill.nanos() / 1_000_000, String.format("%.1f", result.decodeTokensPerSecond()));
        return result;
    }

    /**
     * The per-token part of the loop: records a picked token, streams it and runs the stopping checks
     * (eos ids, stop strings, max new tokens, cache capacity) in HF's order.
     */
    private final class Steps {
        private final DecoderSession session;
        private final GenerationOptions options;
        private final StopStrings stopStrings;
        private final TokenHistory history;
        private final TokenListener listener;
        private final StreamingDecoder stream;
        private final int[] generated;
        private int count;
        private String text = "";
        private StopReason reason = StopReason.MAX_NEW_TOKENS;

        Steps(DecoderSession session, GenerationOptions options, StopStrings stopStrings, TokenHistory history,
              TokenListener listener, StreamingDecoder stream) {
            this.session = session;
            this.options = options;
            this.stopStrings = stopStrings;
            this.history = history;
            this.listener = listener;
            this.stream = stream;
            this.generated = new int[options.maxNewTokens()];
        }

        /** Takes the next token; true when generation goes on (the token is then decoded). */
        boolean take(int token) {
            generated[count++] = token;
            history.add(token);
            listener.onToken(token, stream == null ? "" : stream.push(token));
            if (options.eosTokenIds().contains(token)) {
                reason = StopReason.EOS;
                return false;
            }
            if (!stopStrings.isEmpty()) {
                String previous = text;
                text = tokenizer.decode(Arrays.copyOf(generated, count), true);
                if (stopStrings.match(text, StopStrings.divergence(previous, text)) != null) {
                    reason = StopReason.STOP_STRING;
                    return false;
                }
            }
            if (count == options.maxNewTokens()) {
                return false;
            }
            if (session.cache().remaining() < 1) {
                reason = StopReason.CAPACITY;
                return false;
            }
            return true;
        }
    }
}
