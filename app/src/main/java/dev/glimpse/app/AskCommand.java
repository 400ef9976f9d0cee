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
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code glimpse ask}: answers a question about an image or a video with the checkpoint's chat
 * template. The answer streams to stdout token by token; {@code --json} prints one object instead
 * (answer, token counts, timings, prefill FLOPs, tokens/s, and what pruning did: visual tokens in
 * and kept per stage, per decoder layer and on average, FLOPs against the unpruned prompt). The
 * pruning trace (every stage's surviving cells and scores) can be large, so it is printed under
 * {@code "trace"} only with {@code --trace}. {@code --prune quota} runs the QuoTA planner on the
 * video first ({@link QuotaRequest}), asks about the frames it scored (one decode) and reports its
 * plan under {@code pruning.quota}.
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
                quota = QuotaRequest.plan(vlm, input, question, options);
                options = quota.options();
                input = quota.video();
            }
            if (json) {
                Answer answer = vlm.ask(input, question, options);
                Map<String, Object> out = AnswerJson.of(answer, trace);
                if (quota != null) {
                    quota.addTo(out, answer, trace);
                }
                System.out.println(new ObjectMapper().writeValueAsString(out));
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
}
