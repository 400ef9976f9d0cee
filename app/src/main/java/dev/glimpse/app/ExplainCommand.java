package dev.glimpse.app;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenGrid;
import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code glimpse explain}: runs the model's prefill with a pruning plan (one generated token) and
 * draws the pruning trace. Writes {@code trace.json} (the {@code PruningTrace} JSON) and, per
 * stage and frame, {@code frame_FFFF_<stage>.png}: the picture the vision tower saw with dropped
 * patches dimmed and kept ones outlined, beside the stage's score heatmap ({@link TraceOverlay}).
 * Without pruning, one {@code none} panel per frame shows every patch kept. Plain LLaVA only: the
 * patch grid must lie over one picture. Prints the written paths, one per line.
 */
@Command(name = "explain",
        mixinStandardHelpOptions = true,
        description = "Draw which visual tokens a pruning strategy keeps: PNG overlays per frame and stage, plus trace.json.")
final class ExplainCommand implements Callable<Integer> {

    static final String DEFAULT_QUESTION = "Describe the image.";

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face LLaVA checkpoint folder. Default: the shipped demo model (models/glimpse-demo).")
    Path model;

    @ArgGroup(exclusive = true, multiplicity = "1")
    AskCommand.MediaChoice media;

    @Option(names = "--frames", paramLabel = "N", description = "Frames to sample from --video. Default: " + AskCommand.DEFAULT_FRAMES + ".")
    Integer frames;

    @Option(names = "--question", paramLabel = "TEXT", defaultValue = DEFAULT_QUESTION,
            description = "The question (text-aware strategies read it). Default: ${DEFAULT-VALUE}")
    String question;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (created if missing).")
    Path out;

    @Mixin
    PruningOptions pruning;

    @Override
    public Integer call() throws IOException {
        model = DemoModel.orDefault(model);
        if (media.video == null && frames != null) {
            throw new IllegalArgumentException("--frames applies to --video only");
        }
        Media input = media.image != null ? Media.imageFile(media.image)
                : Media.video(media.video, frames == null ? AskCommand.DEFAULT_FRAMES : frames);
        AskOptions options = pruning.applyTo(AskOptions.defaults().withMaxNewTokens(1));
        LoadOptions load = LoadOptions.defaults().withDevice(Backends.Choice.parse(device));
        try (VisionLanguageModel vlm = Glimpse.load(model, load)) {
            if (vlm.llava().config().isOnevision()) {
                throw new IllegalArgumentException("explain draws patch grids over plain-LLaVA pictures; "
                        + vlm.folder() + " is LLaVA-OneVision (anyres tiles)");
            }
            QuotaRequest quota = null;
            if (pruning.quota()) {
                quota = QuotaRequest.plan(vlm, input, question, options);
                options = quota.options();
                input = quota.video();
            }
            List<RgbImage> views = vlm.modelViews(input);
            Answer answer = vlm.ask(input, question, options);
            PruningTrace trace = quota == null ? answer.pruning().trace() : quota.withFrameScores(answer.pruning().trace());
            Files.createDirectories(out);
            Path traceFile = out.resolve("trace.json");
            Files.writeString(traceFile, trace.toJson());
            System.out.println(traceFile);
            int side = vlm.llava().config().vision().patchesPerSide();
            for (PruningTrace.Stage stage : stagesToDraw(trace, views.size(), side)) {
                for (PruningTrace.FrameTrace frame : stage.frames()) {
                    Path png = out.resolve(String.format(Locale.ROOT, "frame_%04d_%s.png", frame.frame(),
                            stage.name().replaceAll("[^A-Za-z0-9._-]", "_")));
                    ImageIO.write(TraceOverlay.render(views.get(frame.frame()), stage, frame), "png", png.toFile());
                    System.out.println(png);
                }
            }
        }
        return 0;
    }

    /** The trace's stages, or one "none" stage keeping every patch of every frame when nothing was pruned. */
    private static List<PruningTrace.Stage> stagesToDraw(PruningTrace trace, int frames, int side) {
        if (!trace.stages().isEmpty()) {
            return trace.stages();
        }
        List<TokenSelection> all = new ArrayList<>();
        for (int f = 0; f < frames; f++) {
            all.add(TokenSelection.all(f, new TokenGrid(side, side)));
        }
        return List.of(PruningTrace.Stage.of("none", "none", HookPoint.PRE_PROJECTOR, null, all, null));
    }
}
