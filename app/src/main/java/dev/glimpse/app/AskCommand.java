package dev.glimpse.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.generate.TokenListener;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code glimpse ask}: answers a question about an image or a video with the checkpoint's chat
 * template. The answer streams to stdout token by token; {@code --json} prints one object instead
 * (answer, token counts, timings, prefill FLOPs, tokens/s, and what pruning did: visual tokens in
 * and kept per stage, per decoder layer and on average, FLOPs against the unpruned prompt). The
 * pruning trace (every stage's surviving cells and scores) can be large, so it is printed under
 * {@code "trace"} only with {@code --trace}. {@code --prune quota} runs the QuoTA planner on the
 * video first ({@link QuotaRequest}) and reports its plan under {@code pruning.quota}.
 */
@Command(name = "ask",
        mixinStandardHelpOptions = true,
        description = "Answer a question about an image or a video.")
final class AskCommand implements Callable<Integer> {

    static final int DEFAULT_FRAMES = 8;

    /** One of the two media. */
    static final class MediaChoice {
        @Option(names = "--image", required = true, paramLabel = "FILE", description = "An image (jpg, png, webp, bmp, gif).")
        Path image;

        @Option(names = "--video", required = true, paramLabel = "FILE", description = "A video; --frames frames are sampled uniformly.")
        Path video;
    }

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face LLaVA / LLaVA-OneVision checkpoint folder. Default: the shipped demo model (models/glimpse-demo).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    MediaChoice media;

    @Option(names = "--frames", paramLabel = "N", description = "Frames to sample from --video. Default: " + DEFAULT_FRAMES + ".")
    Integer frames;

    @Option(names = "--max-new-tokens", defaultValue = "256", paramLabel = "N", description = "Most tokens to generate. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--json", description = "Print one JSON object: answer, token counts, timings, FLOPs, tokens/s.")
    boolean json;

    @Option(names = "--trace", description = "With --json: add the pruning trace (per stage: kept cells, scores, budgets).")
    boolean trace;

    @Mixin
    PruningOptions pruning;

    @Parameters(index = "0", paramLabel = "QUESTION", description = "The question.")
    String question;

    @Override
    public Integer call() throws IOException {
        model = DemoModel.orDefault(model);
        if (media.video == null && frames != null) {
            throw new IllegalArgumentException("--frames applies to --video only");
        }
        Media input = media.image != null ? Media.imageFile(media.image)
                : Media.video(media.video, frames == null ? DEFAULT_FRAMES : frames);
        if (trace && !json) {
            throw new IllegalArgumentException("--trace prints with --json only (or use 'glimpse explain' to draw it)");
        }
        AskOptions options = pruning.applyTo(AskOptions.defaults().withMaxNewTokens(maxNewTokens));
        LoadOptions load = LoadOptions.defaults().withDevice(Backends.Choice.parse(device));
        try (VisionLanguageModel vlm = Glimpse.load(model, load)) {
            QuotaRequest quota = null;
            if (pruning.quota()) {
                quota = QuotaRequest.plan(vlm, input, question, pruning, options);
                options = quota.options();
            }
            if (json) {
                Answer answer = vlm.ask(input, question, options);
                System.out.println(new ObjectMapper().writeValueAsString(toJson(answer, trace, quota)));
            } else {
                TokenListener stream = (id, text) -> {
                    System.out.print(text);
                    System.out.flush();
                };
                vlm.ask(input, question, options, stream);
                System.out.println();
            }
        }
        return 0;
    }

    /**
     * The {@code --json} object of {@code a}; with a QuoTA plan ({@code quota} non-null) the plan goes
     * under {@code pruning.quota} and its frame probabilities onto the trace's pre-projector stage.
     */
    static Map<String, Object> toJson(Answer a, boolean withTrace, QuotaRequest quota) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("answer", a.text());
        out.put("token_ids", a.tokenIds());
        out.put("stop_reason", a.stopReason().name().toLowerCase(Locale.ROOT));
        Map<String, Object> tokens = new LinkedHashMap<>();
        tokens.put("prompt", a.counts().prompt());
        tokens.put("generated", a.counts().generated());
        Map<String, Object> visual = new LinkedHashMap<>();
        for (Answer.VisualStage s : a.counts().visual()) {
            visual.put(s.stage(), Map.of("in", s.in(), "kept", s.kept()));
        }
        tokens.put("visual", visual);
        out.put("tokens", tokens);
        Answer.StageTimings t = a.timings();
        Map<String, Object> ms = new LinkedHashMap<>();
        ms.put("decode_media", t.decodeMediaNanos() / 1e6);
        ms.put("preprocess", t.preprocessNanos() / 1e6);
        ms.put("vision", t.visionNanos() / 1e6);
        ms.put("prefill", t.prefillNanos() / 1e6);
        ms.put("generate", t.generateNanos() / 1e6);
        out.put("timings_ms", ms);
        out.put("prefill_flops", a.prefillFlops());
        Map<String, Object> pruned = new LinkedHashMap<>();
        pruned.put("plan", quota == null ? a.pruning().plan() : QuotaRequest.describe(a.pruning().plan()));
        pruned.put("visual_tokens_per_layer", a.pruning().visualTokensPerLayer());
        pruned.put("heads_per_layer", a.pruning().headsPerLayer());
        Map<String, Object> positions = new LinkedHashMap<>();
        positions.put("prompt", a.pruning().promptPositions().key());
        positions.put("decoder", a.pruning().decoderPositions().key());
        pruned.put("positions", positions);
        pruned.put("average_visual_tokens", a.prefill().averageVisualTokens());
        pruned.put("unpruned_prefill_flops", a.prefill().unprunedFlops());
        pruned.put("flops_ratio", a.prefill().flopsRatio());
        if (quota != null) {
            pruned.put("quota", quota.plan().toMap());
        }
        out.put("pruning", pruned);
        out.put("prefill_tokens_per_second", a.prefillTokensPerSecond());
        out.put("decode_tokens_per_second", a.decodeTokensPerSecond());
        if (withTrace) {
            out.put("trace", quota == null ? a.pruning().trace() : quota.withFrameScores(a.pruning().trace()));
        }
        return out;
    }
}
