package dev.glimpse.evalharness.synth;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SynthScenes: determinism, layout, and questions whose answers follow from the ground truth. */
class SceneGeneratorTest {

    private static final SynthBenchmark BENCH = SynthBenchmark.standard();

    private static List<SynthItem.SceneItem> testScenes(int n) {
        List<SynthItem.SceneItem> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(BENCH.scene(Split.TEST, i));
        }
        return out;
    }

    @Test
    void sameSeedGivesIdenticalPixelsAndQuestions() {
        SynthItem.SceneItem a = BENCH.scene(Split.TEST, 7);
        SynthItem.SceneItem b = SynthBenchmark.standard().scene(Split.TEST, 7);
        assertEquals(a, b);
        assertArrayEquals(SceneRenderer.render(a.scene()).pixels(), SceneRenderer.render(b.scene()).pixels());
        assertNotEquals(a.scene(), BENCH.scene(Split.TEST, 8).scene());
    }

    @Test
    void objectsNeverOverlapAndStayInside() {
        for (SynthItem.SceneItem item : testScenes(300)) {
            List<SceneObject> objects = item.scene().objects();
            assertTrue(!objects.isEmpty() && objects.size() <= SceneGenerator.MAX_OBJECTS);
            for (int i = 0; i < objects.size(); i++) {
                BoundingBox b = objects.get(i).box();
                assertTrue(b.x() >= 0 && b.y() >= 0 && b.x() + b.width() <= 224 && b.y() + b.height() <= 224, item.id());
                for (int j = i + 1; j < objects.size(); j++) {
                    assertFalse(b.intersects(objects.get(j).box(), 0), item.id());
                }
            }
        }
    }

    @Test
    void tinyObjectsCoverOnlyAFewPatches() {
        long tiny = testScenes(300).stream().flatMap(s -> s.scene().objects().stream())
                .filter(o -> o.size() == SizeClass.TINY).peek(o -> {
                    assertTrue(o.box().width() <= 16 && o.box().height() <= 16, o.toString());
                }).count();
        assertTrue(tiny >= 50, "tiny objects in 300 scenes: " + tiny);
    }

    @Test
    void tinyObjectsAreDrawnInTheirColour() {
        SynthItem.SceneItem item = testScenes(300).stream()
                .filter(s -> s.scene().objects().stream().anyMatch(o -> o.size() == SizeClass.TINY)).findFirst()
                .orElseThrow();
        SceneObject o = item.scene().objects().stream().filter(x -> x.size() == SizeClass.TINY).findFirst().orElseThrow();
        var image = SceneRenderer.render(item.scene());
        int x = (int) o.centerX();
        int y = (int) o.centerY() + (o.shape() == ShapeKind.TRIANGLE ? 2 : 0);
        int[] got = {image.get(x, y, 0), image.get(x, y, 1), image.get(x, y, 2)};
        int[] want = {o.fill() >> 16 & 0xFF, o.fill() >> 8 & 0xFF, o.fill() & 0xFF};
        for (int c = 0; c < 3; c++) {
            assertTrue(Math.abs(got[c] - want[c]) <= 2, Arrays.toString(got) + " vs " + Arrays.toString(want));
        }
    }

    @Test
    void everyAnswerFollowsFromTheGroundTruthAndIsUnambiguous() {
        int[] perType = new int[QuestionType.values().length];
        for (SynthItem.SceneItem item : testScenes(300)) {
            Scene scene = item.scene();
            for (SynthQuestion q : item.questions()) {
                perType[q.type().ordinal()]++;
                assertEquals(rederive(scene, q), q.answer(), q.id() + ": " + q.text());
            }
        }
        for (QuestionType t : List.of(QuestionType.COLOR, QuestionType.SHAPE, QuestionType.COUNT,
                QuestionType.PRESENCE, QuestionType.POSITION)) {
            assertTrue(perType[t.ordinal()] >= 50, t + ": " + perType[t.ordinal()]);
        }
    }

    @Test
    void presenceIsBalancedAndItsNegativesAreHard() {
        int yes = 0;
        int no = 0;
        int hard = 0;
        for (SynthItem.SceneItem item : testScenes(300)) {
            for (SynthQuestion q : item.questions()) {
                if (q.type() != QuestionType.PRESENCE) {
                    continue;
                }
                if (q.answer().equals("yes")) {
                    yes++;
                    continue;
                }
                no++;
                String[] words = phrase(q.text(), "Is there a ").split(" ");
                boolean sharesAttribute = item.scene().objects().stream()
                        .anyMatch(o -> o.color().word().equals(words[0]) || o.shape().word().equals(words[1]));
                hard += sharesAttribute ? 1 : 0;
            }
        }
        assertTrue(Math.abs(yes - no) < 60, yes + " yes, " + no + " no");
        assertEquals(no, hard);
    }

    /** The answer recomputed from the objects alone; throws when the question is ambiguous. */
    private static String rederive(Scene scene, SynthQuestion q) {
        List<SceneObject> objects = scene.objects();
        String text = q.text();
        return switch (q.type()) {
            case COLOR -> {
                String shape = phrase(text, "What color is the ");
                List<SceneObject> matches = objects.stream().filter(o -> o.shape().word().equals(shape)).toList();
                assertEquals(1, matches.size(), "ambiguous: " + text);
                yield matches.getFirst().color().word();
            }
            case SHAPE -> {
                String color = phrase(text, "What shape is the ").replace(" object", "");
                List<SceneObject> matches = objects.stream().filter(o -> o.color().word().equals(color)).toList();
                assertEquals(1, matches.size(), "ambiguous: " + text);
                yield matches.getFirst().shape().word();
            }
            case COUNT -> {
                String what = phrase(text, "How many ").replace(" are there", "");
                long n = objects.stream().filter(o -> what.equals("objects")
                        || what.equals(o.shape().plural()) || what.equals(o.color().word() + " objects")).count();
                yield Long.toString(n);
            }
            case PRESENCE -> {
                String p = phrase(text, "Is there a ");
                yield objects.stream().anyMatch(o -> o.phrase().equals(p)) ? "yes" : "no";
            }
            case POSITION -> {
                String p = phrase(text, "Where is the ");
                List<SceneObject> matches = objects.stream().filter(o -> o.phrase().equals(p)).toList();
                assertEquals(1, matches.size(), "ambiguous: " + text);
                SceneObject o = matches.getFirst();
                double fx = o.centerX() / scene.width();
                double fy = o.centerY() / scene.height();
                for (double f : new double[] {fx, fy}) {
                    assertTrue(Math.abs(f - 1 / 3.0) >= 0.04 && Math.abs(f - 2 / 3.0) >= 0.04, "borderline: " + text);
                }
                int col = (int) (fx * 3);
                int row = (int) (fy * 3);
                assertTrue(col == 1 || row == 1, "corner: " + text);
                yield row == 1 ? List.of("left", "center", "right").get(col) : row == 0 ? "top" : "bottom";
            }
            default -> throw new AssertionError("not an image question: " + q);
        };
    }

    private static String phrase(String text, String prefix) {
        assertTrue(text.startsWith(prefix) && text.endsWith("?"), text);
        return text.substring(prefix.length(), text.length() - 1).toLowerCase(Locale.ROOT);
    }
}
