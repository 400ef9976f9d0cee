package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.accounting.PrefillAccounting;
import dev.glimpse.tokenpruning.accounting.PrefillAccounting.PrefillCost;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PositionMode;
import dev.glimpse.vlmruntime.decoder.PrefillResult;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import dev.glimpse.vlmruntime.generate.GenerationResult;
import dev.glimpse.vlmruntime.generate.Generator;
import dev.glimpse.vlmruntime.generate.PromptInput;
import dev.glimpse.vlmruntime.generate.TokenListener;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.pruning.RequestPruning;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.text.ChatMessage;
import dev.glimpse.vlmruntime.text.ChatTemplate;
import dev.glimpse.vlmruntime.text.ContentPart;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A loaded LLaVA or LLaVA-OneVision model behind Glimpse's public API ({@link Glimpse#load}).
 *
 * <p>Thread-safety: share one instance freely; it is internally synchronised, so concurrent
 * {@link #ask} / {@link #logits} calls run one at a time (each in its own KV cache, allocated for
 * the prompt plus {@code maxNewTokens} and released when the call returns). Closing while a call
 * runs is an error of the caller.
 */
public final class VisionLanguageModel implements AutoCloseable {

    private final LlavaModel model;
    private final Backend backend;
    private final LoadOptions options;
    private final Generator generator;
    private final ReentrantLock lock = new ReentrantLock();
    /** Set by {@link #close} under the lock; a call that takes the lock afterwards fails instead of using freed memory. */
    private boolean closed;
    private ChatTemplate chatTemplate;

    VisionLanguageModel(LlavaModel model, Backend backend, LoadOptions options) {
        this.model = model;
        this.backend = backend;
        this.options = options;
        this.generator = new Generator(model.decoder(), model.tokenizer());
    }

    public Path folder() {
        return model.folder();
    }

    /** The underlying assembly (config, tokenizer, decoder), for research code. */
    public LlavaModel llava() {
        return model;
    }

    /** Answers {@code question} about {@code media} (chat template of the checkpoint, generation prompt added). */
    public Answer ask(Media media, String question, AskOptions askOptions) {
        return ask(media, question, askOptions, TokenListener.NONE);
    }

    /** As {@link #ask(Media, String, AskOptions)}, calling {@code listener} with each token as it is generated. */
    public Answer ask(Media media, String question, AskOptions askOptions, TokenListener listener) {
        lock.lock();
        try {
            requireOpen();
            long t0 = System.nanoTime();
            VisualInput decoded = MediaDecoding.decode(media, options.mediaLimits(), model.acceptsVideo());
            long decodeMedia = System.nanoTime() - t0;
            RequestPruning pruning = RequestPruning.of(askOptions.pruning(), backend, model.config(), decoded,
                    media.isVideo(), askOptions.frameBudgets().orElse(null),
                    askOptions.positions().orElse(null));
            VisualInput input = pruning.input();
            String prompt = template().render(List.of(userMessage(input, question)), true);
            boolean templateHasBos = model.tokenizer().specialTokens().bos().map(prompt::startsWith).orElse(false);
            GenerationOptions generation = askOptions.generation()
                    .orElseGet(() -> GenerationOptions.fromCheckpoint(model.folder(), model.config().text(),
                            askOptions.maxNewTokens()))
                    .withMaxNewTokens(askOptions.maxNewTokens());
            try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), !templateHasBos);
                 DecoderSession session = newSession(prepared.inputIds().length + generation.maxNewTokens(),
                         pruning.decoderPositions())) {
                GenerationResult result = generator.generate(session, new PromptInput(prepared.embeddings(),
                        prepared.positions(), prepared.inputIds(), pruning.decoderHook(prepared)), generation, listener);
                return answer(prepared, result, decodeMedia, pruning);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Logits at the last position of {@code rawPrompt}, tokenized exactly as the HF processor
     * does ({@code processor(text=rawPrompt, images=...)}: placeholders expanded, the tokenizer's
     * special tokens added, no chat template).
     */
    public LogitsResult logits(Media media, String rawPrompt) {
        return logits(media, rawPrompt, PruningPlan.none());
    }

    /** As {@link #logits(Media, String)}, with the visual tokens pruned by {@code plan} (as {@link #ask} prunes them). */
    public LogitsResult logits(Media media, String rawPrompt, PruningPlan plan) {
        lock.lock();
        try {
            requireOpen();
            VisualInput input = MediaDecoding.decode(media, options.mediaLimits(), model.acceptsVideo());
            RequestPruning pruning = RequestPruning.of(plan, backend, model.config(), input,
                    media.isVideo(), null);
            try (PreparedPrompt prepared = model.prepare(rawPrompt, input, pruning.visualHooks(), true);
                 DecoderSession session = newSession(prepared.inputIds().length, pruning.decoderPositions())) {
                session.prefill(prepared.embeddings(), prepared.positions(), pruning.decoderHook(prepared));
                float[] logits = new float[model.config().text().vocabSize()];
                session.copyLogits(logits);
                return new LogitsResult(prepared.inputIds(), logits);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * The decoded pictures of {@code media} before the image processor, exactly those {@link #ask}
     * feeds the model (one per image, or the frames sampled from a video), e.g. for a planner that
     * scores a video's frames before asking about them.
     */
    public List<RgbImage> pictures(Media media) {
        lock.lock();
        try {
            requireOpen();
            return switch (MediaDecoding.decode(media, options.mediaLimits(), model.acceptsVideo())) {
                case VisualInput.Images images -> images.images();
                case VisualInput.Video video -> video.frames();
            };
        } finally {
            lock.unlock();
        }
    }

    /**
     * The pictures of {@code media} as the vision tower sees them (resized, cropped; one per image or
     * sampled frame), over which the pruning trace's patch grids lie. Plain LLaVA only.
     */
    public List<RgbImage> modelViews(Media media) {
        lock.lock();
        try {
            requireOpen();
            VisualInput input = MediaDecoding.decode(media, options.mediaLimits(), model.acceptsVideo());
            List<RgbImage> pictures = switch (input) {
                case VisualInput.Images images -> images.images();
                case VisualInput.Video video -> video.frames();
            };
            return pictures.stream().map(model::modelView).toList();
        } finally {
            lock.unlock();
        }
    }

    private DecoderSession newSession(int capacity, PositionMode positions) {
        return model.decoder().newSession(SessionOptions.of(capacity).withPrefillChunkSize(options.prefillChunkSize())
                .withPositionMode(positions));
    }

    private ChatTemplate template() {
        if (chatTemplate == null) {
            chatTemplate = ChatTemplate.load(model.folder());
        }
        return chatTemplate;
    }

    /** One user turn: a part per image (or one video part), then the question, as HF's chat examples order them. */
    private static ChatMessage userMessage(VisualInput input, String question) {
        List<ContentPart> parts = new ArrayList<>();
        switch (input) {
            case VisualInput.Images images -> images.images().forEach(i -> parts.add(new ContentPart.Image()));
            case VisualInput.Video video -> parts.add(new ContentPart.Video());
        }
        parts.add(new ContentPart.Text(question));
        return ChatMessage.parts("user", parts.toArray(ContentPart[]::new));
    }

    /**
     * The answer with its accounting: decoder pruning drops visual tokens only, so layer l's visual
     * count is its token count less the prompt's text tokens; the unpruned reference holds every
     * visual token the prompt would have without pruning in every layer.
     */
    private Answer answer(PreparedPrompt prepared, GenerationResult result, long decodeMedia, RequestPruning pruning) {
        PreparedPrompt.VisualStats v = prepared.visuals();
        PrefillResult prefill = result.prefill();
        int text = prepared.inputIds().length - v.visualTokens();
        int[] visualPerLayer = Arrays.stream(prefill.tokensPerLayer()).map(n -> n - text).toArray();
        Answer.TokenCounts counts = new Answer.TokenCounts(prepared.inputIds().length, result.generatedTokens(), List.of(
                new Answer.VisualStage("vision", v.towerTokens(), v.visualIn()),
                new Answer.VisualStage("projector", v.visualIn(), v.visualKept()),
                new Answer.VisualStage("decoder", v.visualTokens(), visualPerLayer[visualPerLayer.length - 1])));
        Answer.StageTimings timings = new Answer.StageTimings(decodeMedia, v.preprocessNanos(), v.visionNanos(),
                prefill.nanos(), result.decodeNanos());
        PrefillCost cost = PrefillAccounting.cost(model.decoder().shape(), text, unprunedVisualTokens(v, pruning),
                visualPerLayer);
        Answer.Pruning report = new Answer.Pruning(pruning.plan().describe(), visualPerLayer, pruning.trace(),
                prefill.headsPerLayer(), pruning.promptPositions(), pruning.decoderPositions());
        return new Answer(result.text(), result.tokens(), result.stopReason(), counts, timings, cost, report);
    }

    /**
     * The visual tokens the prompt would hold without pruning: those of the pictures encoded, and as
     * many again for each frame a per-frame allocation dropped before encoding (plain LLaVA's frames
     * all have the same grid), so a plan that drops frames is measured against the whole video.
     */
    private static int unprunedVisualTokens(PreparedPrompt.VisualStats v, RequestPruning pruning) {
        int encoded = switch (pruning.input()) {
            case VisualInput.Images images -> images.images().size();
            case VisualInput.Video video -> video.frames().size();
        };
        return encoded == 0 ? v.unprunedTokens() : v.unprunedTokens() + pruning.droppedFrames() * (v.unprunedTokens() / encoded);
    }

    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            model.close();
            backend.close();
        } finally {
            lock.unlock();
        }
    }

    /** Called under the lock: a request after {@link #close} (e.g. one a stopping server had begun) fails clearly. */
    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the model is closed");
        }
    }
}
