package dev.glimpse.evalharness.synth;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The questions about one scene, at most one per image {@link QuestionType}, each unambiguous by
 * construction (a type is skipped when the scene offers no unambiguous instance):
 * <ul>
 *   <li>color: "What color is the star?" about a shape exactly one object has;</li>
 *   <li>shape: "What shape is the red object?" about a colour exactly one object has;</li>
 *   <li>count: "How many objects are there?", "How many stars are there?" (zero when absent, one
 *       time in four) or "How many red objects are there?"; the answer in digits;</li>
 *   <li>presence: "Is there a red star?", yes or no with equal odds; a "no" is a hard negative
 *       when the scene allows it: an absent combination sharing its colour or its shape with a
 *       present object (POPE's adversarial setting);</li>
 *   <li>position: "Where is the red star?" about a unique colour-shape pair whose centre has a
 *       one-word {@link Position}.</li>
 * </ul>
 * Choices are random but fixed by the scene's seed.
 */
public final class SceneQuestions {

    private SceneQuestions() {
    }

    /** Every question type the scene allows, in {@link QuestionType} order. */
    public static List<SynthQuestion> of(Scene scene) {
        SplittableRandom rng = Seeds.random(scene.seed(), Seeds.QUESTIONS);
        List<SceneObject> objects = scene.objects();
        List<SynthQuestion> out = new ArrayList<>();
        String id = scene.id();

        List<ShapeKind> uniqueShapes = List.of(ShapeKind.values()).stream()
                .filter(s -> objects.stream().filter(o -> o.shape() == s).count() == 1).toList();
        if (!uniqueShapes.isEmpty()) {
            ShapeKind s = pick(rng, uniqueShapes);
            SceneObject o = objects.stream().filter(x -> x.shape() == s).findFirst().orElseThrow();
            out.add(SynthQuestion.of(id, QuestionType.COLOR, "What color is the " + s.word() + "?", o.color().word()));
        }
        List<ObjectColor> uniqueColors = List.of(ObjectColor.values()).stream()
                .filter(c -> objects.stream().filter(o -> o.color() == c).count() == 1).toList();
        if (!uniqueColors.isEmpty()) {
            ObjectColor c = pick(rng, uniqueColors);
            SceneObject o = objects.stream().filter(x -> x.color() == c).findFirst().orElseThrow();
            out.add(SynthQuestion.of(id, QuestionType.SHAPE, "What shape is the " + c.word() + " object?",
                    o.shape().word()));
        }
        out.add(count(id, rng, objects));
        out.add(presence(id, rng, objects));
        position(scene, rng).ifPresent(out::add);
        return out;
    }

    private static SynthQuestion count(String id, SplittableRandom rng, List<SceneObject> objects) {
        int variant = rng.nextInt(3);
        if (variant == 0) {
            return SynthQuestion.of(id, QuestionType.COUNT, "How many objects are there?",
                    Integer.toString(objects.size()));
        }
        if (variant == 1) {
            ShapeKind s = rng.nextInt(4) == 0 ? pick(rng, List.of(ShapeKind.values()))
                    : pick(rng, objects.stream().map(SceneObject::shape).toList());
            long n = objects.stream().filter(o -> o.shape() == s).count();
            return SynthQuestion.of(id, QuestionType.COUNT, "How many " + s.plural() + " are there?", Long.toString(n));
        }
        ObjectColor c = rng.nextInt(4) == 0 ? pick(rng, List.of(ObjectColor.values()))
                : pick(rng, objects.stream().map(SceneObject::color).toList());
        long n = objects.stream().filter(o -> o.color() == c).count();
        return SynthQuestion.of(id, QuestionType.COUNT, "How many " + c.word() + " objects are there?", Long.toString(n));
    }

    private static SynthQuestion presence(String id, SplittableRandom rng, List<SceneObject> objects) {
        boolean yes = rng.nextBoolean();
        Set<String> present = new HashSet<>(objects.stream().map(SceneObject::phrase).toList());
        String phrase;
        if (yes) {
            phrase = pick(rng, objects).phrase();
        } else {
            Set<ShapeKind> shapes = EnumSet.noneOf(ShapeKind.class);
            Set<ObjectColor> colors = EnumSet.noneOf(ObjectColor.class);
            objects.forEach(o -> {
                shapes.add(o.shape());
                colors.add(o.color());
            });
            List<String> hard = new ArrayList<>();
            List<String> absent = new ArrayList<>();
            for (ObjectColor c : ObjectColor.values()) {
                for (ShapeKind s : ShapeKind.values()) {
                    String p = c.word() + " " + s.word();
                    if (!present.contains(p)) {
                        absent.add(p);
                        if (shapes.contains(s) || colors.contains(c)) {
                            hard.add(p);
                        }
                    }
                }
            }
            phrase = pick(rng, hard.isEmpty() ? absent : hard);
        }
        return SynthQuestion.of(id, QuestionType.PRESENCE, "Is there a " + phrase + "?", yes ? "yes" : "no");
    }

    private static Optional<SynthQuestion> position(Scene scene, SplittableRandom rng) {
        List<SceneObject> objects = scene.objects();
        List<SceneObject> candidates = objects.stream()
                .filter(o -> objects.stream().filter(x -> x.phrase().equals(o.phrase())).count() == 1)
                .filter(o -> Position.of(o.centerX(), o.centerY(), scene.width(), scene.height()).isPresent())
                .toList();
        if (candidates.isEmpty()) {
            return Optional.empty();
        }
        SceneObject o = pick(rng, candidates);
        Position p = Position.of(o.centerX(), o.centerY(), scene.width(), scene.height()).orElseThrow();
        return Optional.of(SynthQuestion.of(scene.id(), QuestionType.POSITION, "Where is the " + o.phrase() + "?",
                p.word()));
    }

    static <T> T pick(SplittableRandom rng, List<T> items) {
        return items.get(rng.nextInt(items.size()));
    }
}
