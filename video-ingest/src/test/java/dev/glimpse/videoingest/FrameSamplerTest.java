package dev.glimpse.videoingest;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** Index math of each sampler, against values computed by numpy and by VLMEvalKit's Python code. */
class FrameSamplerTest {

    private static VideoInfo video(long frames, double fps) {
        return new VideoInfo("test", "test", 64, 64, 0, fps, frames / fps, frames, true);
    }

    @Test
    void uniformWithEndpointsMatchesNumpyLinspaceCastToInt() {
        // np.linspace(0, total - 1, n, dtype=int) with numpy 2.4
        assertArrayEquals(new long[] {0, 14, 28, 42, 56, 70, 84, 99}, FrameSampler.UniformWithEndpoints.indices(100, 8));
        assertArrayEquals(new long[] {0, 580, 1161, 1741, 2322, 2903, 3483, 4064, 4644, 5225, 5806, 6386, 6967, 7547,
                8128, 8709, 9289, 9870, 10451, 11031, 11612, 12192, 12773, 13354, 13934, 14515, 15095, 15676, 16257,
                16837, 17418, 17999}, FrameSampler.UniformWithEndpoints.indices(18000, 32));
    }

    @Test
    void uniformWithEndpointsFloorsInFloatingPointLikeNumpy() {
        // exact rational floors would give 3 and 7 at positions 2 and 5; numpy's doubles give 2 and 6
        assertArrayEquals(new long[] {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 19, 20, 21, 23, 24, 25, 27, 28, 30},
                FrameSampler.UniformWithEndpoints.indices(31, 23));
    }

    @Test
    void uniformWithEndpointsRepeatsFramesOfShortVideosLikeNumpy() {
        assertArrayEquals(new long[] {0, 0, 1, 1, 2, 2, 3, 4}, FrameSampler.UniformWithEndpoints.indices(5, 8));
        assertArrayEquals(new long[] {0}, FrameSampler.UniformWithEndpoints.indices(100, 1));
    }

    @Test
    void uniformWithoutEndpointsMatchesVlmEvalKit() {
        // step_size = len(vid) / (n + 1); [int(i * step_size) for i in range(1, n + 1)]
        assertArrayEquals(new long[] {11, 22, 33, 44, 55, 66, 77, 88}, FrameSampler.UniformWithoutEndpoints.indices(100, 8));
        assertArrayEquals(new long[] {0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6, 7, 7, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 14,
                14, 15, 15, 16, 16, 17, 18, 18, 19, 19, 20, 20, 21, 22, 22, 23, 23, 24, 24, 25},
                FrameSampler.UniformWithoutEndpoints.indices(26, 45));
    }

    @Test
    void fixedFpsTakesEveryKthFrameLikeVlmEvalKit() {
        assertArrayEquals(new long[] {0, 30, 60, 90, 120, 150, 180, 210, 240, 270},
                FrameSampler.FixedFps.indices(300, 30, 1, 100));
        long[] ntsc = FrameSampler.FixedFps.indices(1000, 29.97, 2, 100);
        assertEquals(66, ntsc.length);
        assertArrayEquals(new long[] {0, 14, 29, 44, 59}, java.util.Arrays.copyOf(ntsc, 5));
        assertEquals(974, ntsc[65]);
    }

    @Test
    void fixedFpsSpreadsMaxFramesWhenTheRateWouldGiveMore() {
        assertArrayEquals(new long[] {0, 75, 150, 225}, FrameSampler.FixedFps.indices(300, 30, 1, 4));
    }

    @Test
    void quotaCountGrowsWithDuration() {
        FrameSampler.QuotaDynamic quota = FrameSampler.QuotaDynamic.DEFAULT;
        assertEquals(96, quota.frameCount(50));
        assertEquals(97, quota.frameCount(57));
        assertEquals(128, quota.frameCount(1800));
        assertEquals(224, quota.frameCount(7200));
        assertEquals(128, quota.plan(video(54_000, 30)).size());
    }

    @Test
    void quotaNeverAsksForMoreFramesThanTheVideoHas() {
        assertEquals(40, FrameSampler.QuotaDynamic.DEFAULT.plan(video(40, 20)).size());
    }

    @Test
    void planTimesAreIndexOverFps() {
        SamplePlan plan = new FrameSampler.UniformWithEndpoints(3).plan(video(101, 25));
        assertEquals(List.of(new SampleTarget(0, 0), new SampleTarget(50, 2.0), new SampleTarget(100, 4.0)), plan.targets());
        assertEquals("uniform(3)", plan.sampler());
    }

    @Test
    void timestampsAreSortedAndMappedToFrames() {
        SamplePlan plan = new FrameSampler.Timestamps(List.of(3.0, 0.5)).plan(video(100, 10));
        assertEquals(List.of(new SampleTarget(5, 0.5), new SampleTarget(30, 3.0)), plan.targets());
    }

    @Test
    void timestampPastTheEndIsRejectedWithTheDuration() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new FrameSampler.Timestamps(List.of(12.0)).plan(video(100, 10)));
        assertEquals("timestamp 12 s is past the end of the video (10.000 s)", e.getMessage());
    }

    @Test
    void parsesEachCommandLineForm() {
        assertEquals(new FrameSampler.UniformWithEndpoints(8), FrameSampler.parse("uniform", 8));
        assertEquals(new FrameSampler.UniformWithoutEndpoints(8), FrameSampler.parse("uniform-no-endpoints", 8));
        assertEquals(new FrameSampler.FixedFps(0.5, 8), FrameSampler.parse("fps:0.5", 8));
        assertEquals(new FrameSampler.Timestamps(List.of(1.0, 2.5)), FrameSampler.parse("timestamps:1, 2.5", 8));
        assertInstanceOf(FrameSampler.QuotaDynamic.class, FrameSampler.parse("quota", 8));
    }

    @Test
    void unknownSamplerNamesTheChoices() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> FrameSampler.parse("random", 8));
        assertEquals("unknown sampler 'random'; expected uniform, uniform-no-endpoints, fps:X, timestamps:a,b,c or quota", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FrameSampler.parse("fps:fast", 8));
    }
}
