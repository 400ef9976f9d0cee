package dev.glimpse.evalharness.synth;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * The synthetic benchmark: SynthScenes and SynthClips ground truth and questions for a split,
 * the single source of both training data ({@link SynthExport}) and evaluation data. Nothing is
 * rendered here; scenes render in memory and clips encode on demand.
 *
 * @param scenes the scene generator (image size)
 * @param clips  the clip generator (frame size, frame count, fps)
 */
public record SynthBenchmark(SceneGenerator scenes, ClipGenerator clips) {

    public SynthBenchmark {
        Objects.requireNonNull(scenes, "scenes");
        Objects.requireNonNull(clips, "clips");
    }

    /** 224 x 224 scenes; 224 x 224 clips of 16 frames at 4 fps. */
    public static SynthBenchmark standard() {
        return new SynthBenchmark(SceneGenerator.standard(), ClipGenerator.standard());
    }

    /** Scene {@code index} of {@code split} with its questions. */
    public SynthItem.SceneItem scene(Split split, long index) {
        Scene scene = scenes.generate(split.seed(index));
        return new SynthItem.SceneItem(scene, SceneQuestions.of(scene));
    }

    /** Clip {@code index} of {@code split} with its questions. */
    public SynthItem.ClipItem clip(Split split, long index) {
        Clip clip = clips.generate(split.seed(index));
        return new SynthItem.ClipItem(clip, ClipQuestions.of(clip));
    }

    /**
     * The evaluation items of {@code split}: its benchmark scenes, then its benchmark clips (as
     * {@code kind} asks), each half holding its first {@code questionLimit} questions at most (the
     * last item keeps the questions that fit).
     */
    public List<SynthItem> evaluationItems(Split split, MediaKind kind, int questionLimit) {
        if (questionLimit < 1) {
            throw new IllegalArgumentException("--limit must be >= 1, got " + questionLimit);
        }
        List<SynthItem> out = new ArrayList<>();
        if (kind.includesImages()) {
            addUpTo(out, questionLimit, split.benchmarkScenes(), i -> scene(split, i));
        }
        if (kind.includesClips()) {
            addUpTo(out, questionLimit, split.benchmarkClips(), i -> clip(split, i));
        }
        return out;
    }

    private static void addUpTo(List<SynthItem> out, int limit, int available,
                                IntFunction<SynthItem> item) {
        int questions = 0;
        for (int i = 0; i < available && questions < limit; i++) {
            SynthItem next = item.apply(i);
            List<SynthQuestion> kept = next.questions().subList(0, Math.min(next.questions().size(), limit - questions));
            questions += kept.size();
            out.add(switch (next) {
                case SynthItem.SceneItem s -> new SynthItem.SceneItem(s.scene(), kept);
                case SynthItem.ClipItem c -> new SynthItem.ClipItem(c.clip(), kept);
            });
        }
    }
}
