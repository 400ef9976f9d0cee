package dev.glimpse.app;

import dev.glimpse.evalharness.synth.SceneRenderer;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitCalibration;
import dev.glimpse.tokenpruning.AsVitThresholds;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * {@code glimpse eval calibrate-as-vit}: fits AS-ViT thresholds ({@code --prune as-vit}) for a model
 * and a final keep ratio on SynthScenes images of a training or validation split, and writes them
 * as the JSON file {@code --as-vit-thresholds} reads.
 *
 * <p>Stages are calibrated in order, each on a pruned pass: the images go through the tower pruned
 * by the stages already fitted (as {@code --prune as-vit} prunes them), the next stage block's
 * scores are collected on the survivors, and {@link AsVitCalibration#fit} fits that stage's
 * threshold so the mean cumulative keep ratio follows {@link AsVitCalibration#geometricSchedule}.
 * A stage's scores are therefore the ones it sees at run time behind the earlier stages (not the
 * unpruned tower's approximation), and the reported keep ratios are what {@code --prune as-vit}
 * keeps on these images. Cost: one pass per stage, each up to its stage block.
 */
@Command(name = "calibrate-as-vit",
        mixinStandardHelpOptions = true,
        description = {"Fit AS-ViT thresholds (--prune as-vit) for a model so that the tower keeps",
                "--keep of the patches on average over SynthScenes images of a train or",
                "validation split; writes the file --as-vit-thresholds reads. Stages are",
                "fitted in order, each on passes pruned by the stages before it."})
final class CalibrateAsVitCommand implements Callable<Integer> {

    /** AS-ViT's stage blocks in DeiT-S, 1-based positions out of its 12 blocks (4th, 7th and 10th). */
    private static final int[] DEIT_STAGES = {4, 7, 10};
    private static final int DEIT_BLOCKS = 12;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face LLaVA checkpoint folder. Default: the shipped demo model (models/glimpse-demo).")
    Path model;

    @Option(names = "--split", defaultValue = "train", paramLabel = "S",
            description = "train or validation (test is for reporting, never for calibration). Default: ${DEFAULT-VALUE}.")
    String split;

    @Option(names = "--count", defaultValue = "500", paramLabel = "N", description = "Images (scenes 0..N-1 of the split). Default: ${DEFAULT-VALUE}.")
    int count;

    @Option(names = "--keep", required = true, paramLabel = "R",
            description = "Mean share of the patches that leaves the tower, e.g. 25%% or 0.25.")
    String keep;

    @Option(names = "--blocks", split = ",", paramLabel = "B",
            description = "Stage blocks (0-based, ascending), e.g. 1,2,3. Default: AS-ViT's 4th/7th/10th of 12 scaled to "
                    + "the blocks before the layer LLaVA reads.")
    List<Integer> blocks;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "The thresholds file to write (JSON).")
    Path out;

    @Override
    public Integer call() throws IOException {
        double finalKeep = parseKeep(keep);
        Split s = Split.ofKey(split);
        if (s == Split.TEST) {
            throw new IllegalArgumentException("--split test is for reporting, not calibration (thresholds fitted on it "
                    + "would leak into the test score); use --split train or validation");
        }
        if (count < 1 || count > s.size()) {
            throw new IllegalArgumentException("--count must be in 1.." + s.size() + " for the " + s.key() + " split, got "
                    + count);
        }
        model = DemoModel.orDefault(model);
        Backends.Choice choice = Backends.Choice.parse(device);
        try (AsVitStageScores tower = AsVitStageScores.open(model, choice)) {
            int[] stageBlocks = blocks == null ? defaultBlocks(tower.featureState()) : checkBlocks(blocks, tower.featureState());
            double[] target = AsVitCalibration.geometricSchedule(finalKeep, stageBlocks.length);
            Calibration c = calibrate(tower, SynthBenchmark.standard(), s, stageBlocks, target);
            if (out.toAbsolutePath().getParent() != null) {
                Files.createDirectories(out.toAbsolutePath().getParent());
            }
            c.thresholds().save(out);
            System.out.println("as-vit blocks " + Arrays.toString(stageBlocks) + " fitted on " + count + " " + s.key()
                    + " images (each stage on passes pruned by the earlier ones): mean keep " + percents(c.achieved())
                    + " of " + tower.grid().size() + " patches (target " + percents(target) + "); wrote " + out);
        }
        return 0;
    }

    /** Thresholds and the mean cumulative keep ratio they reach per stage on the calibration images. */
    private record Calibration(AsVitThresholds thresholds, double[] achieved) {
    }

    private Calibration calibrate(AsVitStageScores tower, SynthBenchmark bench, Split s, int[] stageBlocks, double[] target) {
        int stages = stageBlocks.length;
        List<float[][]> scores = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            scores.add(new float[stages][]);
        }
        AsVitThresholds fitted = null;
        try (ProgressBar bar = new ProgressBar("calibrate as-vit", (long) count * stages)) {
            for (int k = 0; k < stages; k++) {
                AdaptiveSparseVitPolicy earlier = fitted == null ? null : new AdaptiveSparseVitPolicy(fitted);
                for (int i = 0; i < count; i++) {
                    scores.get(i)[k] = tower.at(SceneRenderer.render(bench.scene(s, i).scene()), stageBlocks[k], earlier);
                    bar.step();
                }
                int upTo = k + 1;
                List<float[][]> prefix = scores.stream().map(image -> Arrays.copyOf(image, upTo)).toList();
                fitted = AsVitCalibration.fit(prefix, Arrays.copyOf(stageBlocks, upTo), Arrays.copyOf(target, upTo));
            }
        }
        return new Calibration(fitted, AsVitCalibration.meanKeepRatios(scores, fitted.thresholds()));
    }

    /**
     * Default stage blocks for a tower whose features are hidden state {@code featureState} (LLaVA
     * runs blocks 0 .. featureState - 1; -2 of the demo's 6 layers is state 5). AS-ViT prunes DeiT-S
     * after its 4th, 7th and 10th of 12 blocks: late enough for class attention to have formed, with
     * blocks after each stage that run on fewer tokens. Those positions are scaled to the blocks
     * LLaVA runs, 1-based {@code round(featureState * p / 12)} for p = 4, 7, 10, and kept before the
     * layer LLaVA reads: a stage after block b shapes the features only if block b + 1 runs, so the
     * last usable stage block is {@code featureState - 2} (the limit {@code --prune as-vit} checks);
     * stages that coincide are merged. The demo (state 5): blocks 1, 2, 3 (0-based), block 4's
     * output is the features; LLaVA-1.5's CLIP-L (state 23): 7, 12, 18; DeiT-S itself (12): 3, 6, 9.
     */
    static int[] defaultBlocks(int featureState) {
        int last = requirePrunable(featureState);
        return IntStream.of(DEIT_STAGES)
                .map(p -> (int) Math.round(featureState * (double) p / DEIT_BLOCKS) - 1)
                .map(b -> Math.clamp(b, 0, last))
                .distinct().sorted().toArray();
    }

    private static int[] checkBlocks(List<Integer> given, int featureState) {
        int last = requirePrunable(featureState);
        int[] out = given.stream().mapToInt(Integer::intValue).toArray();
        for (int k = 0; k < out.length; k++) {
            if (out[k] < 0 || out[k] > last || (k > 0 && out[k] <= out[k - 1])) {
                throw new IllegalArgumentException("--blocks " + given.stream().map(String::valueOf)
                        .collect(Collectors.joining(",")) + ": stage blocks must be ascending and in 0.." + last
                        + " (the features come from hidden state " + featureState + ", the output of block "
                        + (featureState - 1) + ", and a stage after block b needs block b + 1 to run)");
            }
        }
        return out;
    }

    private static int requirePrunable(int featureState) {
        if (featureState < 2) {
            throw new IllegalArgumentException("the features come from hidden state " + featureState
                    + " of the vision tower: no stage block has a block after it that shapes them");
        }
        return featureState - 2;
    }

    /** {@code 25%} or {@code 0.25}, in (0, 1]. */
    static double parseKeep(String value) {
        String v = value.strip();
        boolean percent = v.endsWith("%");
        double r;
        try {
            r = Double.parseDouble(percent ? v.substring(0, v.length() - 1) : v) / (percent ? 100 : 1);
        } catch (NumberFormatException e) {
            r = Double.NaN;
        }
        if (!(r > 0 && r <= 1)) {
            throw new IllegalArgumentException("--keep must be a share of the patches in (0, 1], like 25% or 0.25; got '"
                    + value + "'");
        }
        return r;
    }

    private static String percents(double[] ratios) {
        return Arrays.stream(ratios).mapToObj(r -> String.format(Locale.ROOT, "%.1f%%", 100 * r))
                .collect(Collectors.joining(" -> "));
    }
}
