package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --budget N/video} and per-frame allocations on plain LLaVA (the fixture's 4x4 grid, 16
 * tokens per frame), a four-frame video taken as four images.
 */
class VideoBudgetTest {

    private static final LoadOptions CPU = LoadOptions.defaults().withDevice(Backends.Choice.CPU);

    @TempDir
    static Path dir;
    static Path video;
    static VisionLanguageModel vlm;

    @BeforeAll
    static void setUp() throws Exception {
        video = FixtureVideo.encode(dir);
        vlm = Glimpse.load(DecoderFixture.folder("llava-clip-llama"), CPU);
    }

    @AfterAll
    static void tearDown() {
        if (vlm != null) {
            vlm.close();
        }
    }

    private static AskOptions options(String budget) {
        return AskOptions.defaults().withMaxNewTokens(1)
                .withPruning(PruningPlan.parse("vtc-cls", TokenBudget.parse(budget)));
    }

    private static List<PruningTrace.FrameTrace> frames(Answer a) {
        return a.pruning().trace().stages().getFirst().frames();
    }

    @Test
    void videoTotalIsSplitEvenlyAndReportedPerFrame() {
        Answer a = vlm.ask(Media.video(video, 4), "What happens?", options("30/video"));
        List<PruningTrace.FrameTrace> frames = frames(a);
        assertEquals(List.of(0, 1, 2, 3), frames.stream().map(PruningTrace.FrameTrace::frame).toList());
        assertEquals(List.of(8, 8, 7, 7), frames.stream().map(PruningTrace.FrameTrace::budget).toList());
        assertEquals(List.of(8, 8, 7, 7), frames.stream().map(f -> f.kept().size()).toList());
        assertEquals(new Answer.VisualStage("projector", 64, 30), a.counts().visual().get(1));
        assertEquals(new Answer.VisualStage("decoder", 30, 30), a.counts().visual().get(2));
    }

    @Test
    void explicitAllocationIsRespectedExactly() {
        Answer a = vlm.ask(Media.video(video, 4), "What happens?", options("30/video").withFrameBudgets(1, 16, 3, 10));
        assertEquals(List.of(1, 16, 3, 10), frames(a).stream().map(PruningTrace.FrameTrace::budget).toList());
        assertEquals(List.of(1, 16, 3, 10), frames(a).stream().map(f -> f.kept().size()).toList());
        assertEquals(new Answer.VisualStage("projector", 64, 30), a.counts().visual().get(1));
    }

    @Test
    void zeroAllocationDropsTheFrameAndItsPlaceholders() {
        Answer even = vlm.ask(Media.video(video, 4), "What happens?", options("24/video").withFrameBudgets(8, 8, 4, 4));
        Answer dropped = vlm.ask(Media.video(video, 4), "What happens?",
                options("24/video").withFrameBudgets(8, 0, 8, 0));
        assertEquals(new Answer.VisualStage("vision", 32, 32), dropped.counts().visual().get(0));
        assertEquals(new Answer.VisualStage("projector", 32, 16), dropped.counts().visual().get(1));
        assertEquals(new Answer.VisualStage("decoder", 16, 16), dropped.counts().visual().get(2));
        assertEquals(64, dropped.prefill().visualTokensIn(), "dropped frames count in the unpruned baseline");
        assertEquals(24, even.counts().visual().get(2).kept());
        // two image parts and 8 visual tokens fewer in the prompt
        assertTrue(dropped.counts().prompt() < even.counts().prompt() - 8,
                even.counts().prompt() + " -> " + dropped.counts().prompt());
        List<PruningTrace.FrameTrace> frames = frames(dropped);
        assertEquals(List.of(0, 1, 2, 3), frames.stream().map(PruningTrace.FrameTrace::frame).toList());
        assertEquals(List.of(8, 0, 8, 0), frames.stream().map(PruningTrace.FrameTrace::budget).toList());
        assertEquals(List.of(8, 0, 8, 0), frames.stream().map(f -> f.kept().size()).toList());
    }

    @Test
    void badAllocationsAndImagesWithAVideoTotalAreRefused() {
        String lengths = assertThrows(IllegalArgumentException.class, () -> vlm.ask(Media.video(video, 4), "q",
                options("30/video").withFrameBudgets(10, 10, 10))).getMessage();
        assertTrue(lengths.contains("3 frames") && lengths.contains("4 frames were sampled"), lengths);
        String tooMany = assertThrows(IllegalArgumentException.class, () -> vlm.ask(Media.video(video, 4), "q",
                options("30/video").withFrameBudgets(17, 1, 1, 1))).getMessage();
        assertTrue(tooMany.contains("17") && tooMany.contains("16 tokens"), tooMany);
        String none = assertThrows(IllegalArgumentException.class, () -> vlm.ask(Media.video(video, 4), "q",
                options("30/video").withFrameBudgets(0, 0, 0, 0))).getMessage();
        assertTrue(none.contains("drop every frame"), none);
        String image = assertThrows(IllegalArgumentException.class, () -> vlm.ask(
                Media.imageFile(DecoderFixture.folder("llava-onevision-qwen2").resolve("video_frame_1.png")), "q",
                options("30/video"))).getMessage();
        assertTrue(image.contains("30/video") && image.contains("1 image"), image);
        String imageAllocation = assertThrows(IllegalArgumentException.class, () -> vlm.ask(
                Media.imageFile(DecoderFixture.folder("llava-onevision-qwen2").resolve("video_frame_1.png")), "q",
                options("8").withFrameBudgets(8))).getMessage();
        assertTrue(imageAllocation.contains("per-frame budgets are for a video"), imageAllocation);
    }
}
