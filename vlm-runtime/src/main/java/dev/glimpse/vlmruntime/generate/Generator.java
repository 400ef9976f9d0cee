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
 * step. Immutable and shareable; each call works on the caller's {@link DecoderSession}.
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
        StreamingDecoder stream = tokenizer == null ? null : tokenizer.streamingDecoder(true);
        String text = "";
        float[] scores = new float[vocab];
        int[] generated = new int[options.maxNewTokens()];
        int count = 0;
        StopReason reason = StopReason.MAX_NEW_TOKENS;
        PrefillResult prefill = session.prefill(prompt.embeddings(), prompt.positions(), prompt.hook());
        long decodeStart = System.nanoTime();
        while (count < options.maxNewTokens()) {
            session.copyLogits(scores);
            for (LogitsProcessor p : processors) {
                p.apply(scores, history, workspace);
            }
            int token = sampler.next(scores);
            generated[count++] = token;
            history.add(token);
            listener.onToken(token, stream == null ? "" : stream.push(token));
            if (options.eosTokenIds().contains(token)) {
                reason = StopReason.EOS;
                break;
            }
            if (!stopStrings.isEmpty()) {
                String previous = text;
                text = tokenizer.decode(Arrays.copyOf(generated, count), true);
                if (stopStrings.match(text, StopStrings.divergence(previous, text)) != null) {
                    reason = StopReason.STOP_STRING;
                    break;
                }
            }
            if (count == options.maxNewTokens()) {
                break;
            }
            if (session.cache().remaining() < 1) {
                reason = StopReason.CAPACITY;
                break;
            }
            session.decode(token);
        }
        long decodeNanos = count == 0 ? 0 : System.nanoTime() - decodeStart;
        listener.onEnd(stream == null ? "" : stream.flush());
        int[] tokens = Arrays.copyOf(generated, count);
        String decoded = tokenizer == null ? null : tokenizer.decode(tokens, true);
        GenerationResult result = new GenerationResult(tokens, decoded, prompt.inputIds().length, reason, prefill,
                decodeNanos);
        LOG.debug("generated {} tokens ({}) after a {}-token prefill in {} ms; decode {} tok/s", count, reason,
                prefill.tokens(), prefill.nanos() / 1_000_000, String.format("%.1f", result.decodeTokensPerSecond()));
        return result;
    }
}
