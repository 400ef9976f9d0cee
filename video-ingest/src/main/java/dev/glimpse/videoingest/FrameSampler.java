package dev.glimpse.videoingest;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Chooses which frames of a video to decode. Each implementation reproduces one convention that
 * models and benchmark harnesses use, because the choice changes scores; {@link #name()} says
 * which one a run used.
 */
public sealed interface FrameSampler {

    /** The sampler and its parameters, as reported with results. */
    String name();

    /** The frames to decode from a video with the given properties. */
    SamplePlan plan(VideoInfo info);

    /**
     * lmms-eval's sampling: {@code np.linspace(0, total - 1, n, dtype=int)}, which includes the
     * first and last frames and rounds down (numpy floors before casting to int).
     */
    record UniformWithEndpoints(int frames) implements FrameSampler {
        public UniformWithEndpoints {
            requirePositive(frames);
        }

        @Override
        public String name() {
            return "uniform(" + frames + ")";
        }

        @Override
        public SamplePlan plan(VideoInfo info) {
            return fromIndices(name(), info, indices(info.frameCount(), frames));
        }

        /** The frame indices for {@code total} frames, exactly as numpy computes them. */
        public static long[] indices(long total, int n) {
            long[] out = new long[n];
            if (n == 1) {
                return out;
            }
            double step = (double) (total - 1) / (n - 1);
            for (int i = 0; i < n - 1; i++) {
                out[i] = (long) Math.floor(i * step);
            }
            out[n - 1] = total - 1;
            return out;
        }
    }

    /**
     * VLMEvalKit's sampling: {@code step = total / (n + 1)}, frames {@code int(i * step)} for
     * {@code i = 1..n}; the first and last frames are skipped.
     */
    record UniformWithoutEndpoints(int frames) implements FrameSampler {
        public UniformWithoutEndpoints {
            requirePositive(frames);
        }

        @Override
        public String name() {
            return "uniform-no-endpoints(" + frames + ")";
        }

        @Override
        public SamplePlan plan(VideoInfo info) {
            return fromIndices(name(), info, indices(info.frameCount(), frames));
        }

        /** The frame indices for {@code total} frames, exactly as VLMEvalKit computes them. */
        public static long[] indices(long total, int n) {
            double step = (double) total / (n + 1);
            long[] out = new long[n];
            for (int i = 1; i <= n; i++) {
                out[i - 1] = (long) (i * step);
            }
            return out;
        }
    }

    /**
     * Frames at a target rate (VLMEvalKit's fps mode): {@code int(duration x fps)} frames, every
     * {@code videoFps / fps}-th one from the first. When that exceeds {@code maxFrames}, takes
     * {@code maxFrames} frames spaced {@code total / maxFrames} apart instead.
     */
    record FixedFps(double fps, int maxFrames) implements FrameSampler {
        public FixedFps {
            if (!(fps > 0) || Double.isInfinite(fps)) {
                throw new IllegalArgumentException("sampling fps must be positive: " + fps);
            }
            requirePositive(maxFrames);
        }

        @Override
        public String name() {
            return String.format(Locale.ROOT, "fps(%s, max %d)", trim(fps), maxFrames);
        }

        @Override
        public SamplePlan plan(VideoInfo info) {
            return fromIndices(name(), info, indices(info.frameCount(), info.fps(), fps, maxFrames));
        }

        /** The frame indices for {@code total} frames at {@code videoFps}. */
        public static long[] indices(long total, double videoFps, double fps, int maxFrames) {
            long required = (long) (total / videoFps * fps);
            int n = (int) Math.max(1, Math.min(required, maxFrames));
            double step = required <= maxFrames ? videoFps / fps : (double) total / n;
            long[] out = new long[n];
            for (int i = 0; i < n; i++) {
                out[i] = Math.min(total - 1, (long) (i * step));
            }
            return out;
        }
    }

    /** Frames shown at explicit times, in seconds from the start; sorted before decoding. */
    record Timestamps(List<Double> seconds) implements FrameSampler {
        public Timestamps {
            seconds = List.copyOf(seconds);
            if (seconds.isEmpty()) {
                throw new IllegalArgumentException("timestamps sampler needs at least one time");
            }
            for (double s : seconds) {
                if (!(s >= 0) || Double.isInfinite(s)) {
                    throw new IllegalArgumentException("timestamps must be finite and >= 0: " + s);
                }
            }
        }

        @Override
        public String name() {
            return "timestamps(" + seconds.stream().map(Timestamps::trim).toList() + ")";
        }

        @Override
        public SamplePlan plan(VideoInfo info) {
            List<SampleTarget> targets = new ArrayList<>();
            for (double s : seconds.stream().sorted().toList()) {
                if (s > info.durationSeconds()) {
                    throw new IllegalArgumentException(String.format(Locale.ROOT,
                            "timestamp %s s is past the end of the video (%.3f s)", trim(s), info.durationSeconds()));
                }
                long index = Math.min(info.frameCount() - 1, (long) Math.floor(s * info.fps() + 1e-9));
                targets.add(new SampleTarget(index, s));
            }
            return new SamplePlan(name(), targets);
        }

        private static String trim(double d) {
            return FrameSampler.trim(d);
        }
    }

    /**
     * QuoTA's dynamic frame count {@code T = base + floor(alpha x duration in hours)}, sampled
     * uniformly with endpoints (linspace); capped at the video's frame count, since repeating
     * frames adds no information.
     */
    record QuotaDynamic(int base, int alpha) implements FrameSampler {
        /** The paper's defaults: 96 frames plus 64 per hour. */
        public static final QuotaDynamic DEFAULT = new QuotaDynamic(96, 64);

        public QuotaDynamic {
            requirePositive(base);
            if (alpha < 0) {
                throw new IllegalArgumentException("alpha must be >= 0: " + alpha);
            }
        }

        @Override
        public String name() {
            return "quota(base " + base + ", alpha " + alpha + "/h)";
        }

        /** Frames for a video of this duration, before capping at its frame count. */
        public int frameCount(double durationSeconds) {
            return base + (int) Math.floor(alpha * durationSeconds / 3600.0);
        }

        @Override
        public SamplePlan plan(VideoInfo info) {
            int n = (int) Math.min(frameCount(info.durationSeconds()), info.frameCount());
            return fromIndices(name(), info, UniformWithEndpoints.indices(info.frameCount(), n));
        }
    }

    /**
     * Parses the command-line form: {@code uniform}, {@code uniform-no-endpoints}, {@code fps:X}
     * (at most {@code frames} frames), {@code timestamps:a,b,c} (seconds) or {@code quota}.
     */
    static FrameSampler parse(String spec, int frames) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        try {
            if (s.equals("uniform")) {
                return new UniformWithEndpoints(frames);
            } else if (s.equals("uniform-no-endpoints")) {
                return new UniformWithoutEndpoints(frames);
            } else if (s.equals("quota")) {
                return QuotaDynamic.DEFAULT;
            } else if (s.startsWith("fps:")) {
                return new FixedFps(Double.parseDouble(s.substring(4)), frames);
            } else if (s.startsWith("timestamps:")) {
                return new Timestamps(Arrays.stream(s.substring(11).split(","))
                        .map(String::trim).map(Double::valueOf).toList());
            }
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad number in sampler '" + spec + "': " + e.getMessage(), e);
        }
        throw new IllegalArgumentException("unknown sampler '" + spec
                + "'; expected uniform, uniform-no-endpoints, fps:X, timestamps:a,b,c or quota");
    }

    private static SamplePlan fromIndices(String name, VideoInfo info, long[] indices) {
        if (info.frameCount() <= 0) {
            throw new CorruptMediaException("the video has no frames to sample");
        }
        List<SampleTarget> targets = new ArrayList<>(indices.length);
        for (long index : indices) {
            targets.add(new SampleTarget(index, index / info.fps()));
        }
        return new SamplePlan(name, targets);
    }

    private static void requirePositive(int frames) {
        if (frames <= 0) {
            throw new IllegalArgumentException("frame count must be positive: " + frames);
        }
    }

    private static String trim(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }
}
