package dev.glimpse.evalharness.synth;

import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The questions about one clip, one per clip {@link QuestionType}; every object of a clip has its
 * own shape and colour and its own first frame, so each is unambiguous:
 * <ul>
 *   <li>needle: "What color was the star?" or "What shape was the red object?" about the object
 *       visible in only a few frames;</li>
 *   <li>temporal: "What appears after the red circle?": the shape of the object whose first frame
 *       comes next after the named object's first frame;</li>
 *   <li>count over time: "How many objects appeared in the video?": every object, whether or not
 *       they were ever visible together.</li>
 * </ul>
 */
public final class ClipQuestions {

    private ClipQuestions() {
    }

    public static List<SynthQuestion> of(Clip clip) {
        SplittableRandom rng = Seeds.random(clip.seed(), Seeds.QUESTIONS);
        String id = clip.id();
        SceneObject needle = clip.needleTrack().object();
        SynthQuestion needleQuestion = rng.nextBoolean()
                ? SynthQuestion.of(id, QuestionType.NEEDLE, "What color was the " + needle.shape().word() + "?",
                        needle.color().word())
                : SynthQuestion.of(id, QuestionType.NEEDLE, "What shape was the " + needle.color().word() + " object?",
                        needle.shape().word());
        List<Track> byAppearance = clip.tracks().stream().sorted(Comparator.comparingInt(Track::firstFrame)).toList();
        int k = rng.nextInt(byAppearance.size() - 1);
        SynthQuestion temporal = SynthQuestion.of(id, QuestionType.TEMPORAL,
                "What appears after the " + byAppearance.get(k).object().phrase() + "?",
                byAppearance.get(k + 1).object().shape().word());
        SynthQuestion count = SynthQuestion.of(id, QuestionType.COUNT_OVER_TIME,
                "How many objects appeared in the video?", Integer.toString(clip.tracks().size()));
        return List.of(needleQuestion, temporal, count);
    }
}
