package dev.glimpse.videoingest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A one-hour low-resolution video sampled to 64 frames, decoded sequentially (every frame passes
 * through the decoder) in a forked JVM with a 48 MB heap: decoding must not hold the video.
 */
class BoundedMemoryTest {

    private static final int FPS = 10;
    private static final int SECONDS = 3600;

    @TempDir
    Path dir;

    @Test
    void oneHourVideoSampledTo64FramesRunsInASmallHeap() throws Exception {
        TestVideos.Spec spec = TestVideos.Spec.constant("mp4", "mpeg4", 64, 64, FPS, FPS * SECONDS).gop(250);
        Path video = TestVideos.write(dir.resolve("hour.mp4"), spec);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx48m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Probe.class.getName(), video.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "forked decoder finished");
        assertEquals(0, p.exitValue(), output);
        String[] result = output.lines().filter(l -> l.startsWith("frames ")).findFirst().orElseThrow().split(" ");
        assertEquals("64", result[1], output);
        assertEquals(String.valueOf(FPS * SECONDS), result[3], "every frame decoded: " + output);
        long peakHeapMb = Long.parseLong(result[5]);
        assertTrue(peakHeapMb < 40, "peak heap " + peakHeapMb + " MB");
    }

    /** Runs in the forked JVM: decodes and prints {@code frames N decoded M peakHeapMb P}. */
    public static final class Probe {
        public static void main(String[] args) {
            DecodeOptions sequential = DecodeOptions.DEFAULTS.withSeekMode(DecodeOptions.SeekMode.SEQUENTIAL).withThreads(2);
            try (VideoDecoder video = VideoDecoder.open(VideoSource.of(Path.of(args[0])), MediaLimits.DEFAULTS, sequential);
                 FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(64).plan(video.info()))) {
                int n = 0;
                while (frames.hasNext()) {
                    frames.next();
                    n++;
                }
                long peak = 0;
                for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                    if (pool.getType() == MemoryType.HEAP) {
                        peak += pool.getPeakUsage().getUsed();
                    }
                }
                System.out.println("frames " + n + " decoded " + frames.summary().framesDecoded() + " peakHeapMb " + (peak >> 20));
            }
        }
    }
}
