package dev.glimpse.app;

import dev.glimpse.evalharness.synth.SceneRenderer;
import dev.glimpse.evalharness.synth.Split;
import dev.glimpse.evalharness.synth.SynthBenchmark;
import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.AdaptiveSparseVitPolicy;
import dev.glimpse.tokenpruning.AsVitThresholds;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse eval calibrate-as-vit} on the llava-clip-llama fixture (a 3-layer CLIP tower with
 * [CLS], 4 x 4 patches, LLaVA reading layer -2: one stage, after block 0).
 */
class CalibrateAsVitCommandTest {

    private static final int IMAGES = 24;
    private static final int IMAGE_TOKEN = 760;
    private static final int PATCHES = 16;

    static Path model;

    @BeforeAll
    static void findFixture() {
        model = CliRun.fixture("llava-clip-llama");
    }

    @Test
    void writesThresholdsWhosePrunedRunsKeepTheTargetShareOfPatches(@TempDir Path dir) {
        Path out = dir.resolve("as-vit-50.json");
        CliRun r = CliRun.glimpse("eval", "calibrate-as-vit", "--model", model.toString(), "--count", "" + IMAGES,
                "--keep", "50%", "--device", "cpu", "--out", out.toString());
        assertEquals(0, r.exit(), r.stderr());
        assertEquals(1, r.stdout().strip().lines().count(), r.stdout());
        assertTrue(r.stdout().contains("mean keep 50.0%"), r.stdout());

        AsVitThresholds thresholds = AsVitThresholds.load(out);
        assertArrayEquals(new int[] {0}, thresholds.blocks());
        PruningPlan plan = new PruningPlan(List.of(new AdaptiveSparseVitPolicy(thresholds)), null);
        SynthBenchmark bench = SynthBenchmark.standard();
        double kept = 0;
        try (VisionLanguageModel vlm = Glimpse.load(model, LoadOptions.defaults().withDevice(Backends.Choice.CPU))) {
            for (int i = 0; i < IMAGES; i++) {
                Media image = new Media.Pixels(SceneRenderer.render(bench.scene(Split.TRAIN, i).scene()));
                int[] ids = vlm.logits(image, "<image>", plan).inputIds();
                kept += Arrays.stream(ids).filter(id -> id == IMAGE_TOKEN).count();
            }
        }
        double meanKeep = kept / IMAGES / PATCHES;
        assertEquals(0.5, meanKeep, 0.03, "mean keep ratio of --prune as-vit on the calibration images");
    }

    @Test
    void givenBlocksAreUsedAndCheckedAgainstTheLayerLlavaReads(@TempDir Path dir) {
        CliRun.glimpse("eval", "calibrate-as-vit", "--model", model.toString(), "--count", "2", "--keep", "25%",
                "--blocks", "0,1", "--device", "cpu", "--out", dir.resolve("t.json").toString())
                .assertOneLineError("stage blocks must be ascending and in 0..0");
    }

    @Test
    void theTestSplitIsRefused(@TempDir Path dir) {
        Path out = dir.resolve("t.json");
        CliRun.glimpse("eval", "calibrate-as-vit", "--model", model.toString(), "--split", "test", "--keep", "25%",
                "--out", out.toString()).assertOneLineError("--split test is for reporting, not calibration");
        assertFalse(Files.exists(out));
    }

    @Test
    void aKeepRatioOutsideZeroToOneIsAOneLineError(@TempDir Path dir) {
        for (String bad : new String[] {"0", "150%", "-0.2", "half"}) {
            CliRun.glimpse("eval", "calibrate-as-vit", "--model", model.toString(), "--keep", bad,
                    "--out", dir.resolve("t.json").toString()).assertOneLineError("--keep must be a share of the patches");
        }
    }

    @Test
    void defaultStagesScaleAsVitsBlocksToTheLayersBeforeTheFeatures() {
        assertArrayEquals(new int[] {3, 6, 9}, CalibrateAsVitCommand.defaultBlocks(12));
        assertArrayEquals(new int[] {1, 2, 3}, CalibrateAsVitCommand.defaultBlocks(5));
        assertArrayEquals(new int[] {7, 12, 18}, CalibrateAsVitCommand.defaultBlocks(23));
        assertArrayEquals(new int[] {0}, CalibrateAsVitCommand.defaultBlocks(2));
    }
}
