package dev.glimpse.queryplanner;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** QuoTA's frame probability on the demo model: a softmax over the whole vocabulary at the token of "A". */
class FrameScorerTest {

    static VisionLanguageModel vlm;
    static FrameScorer scorer;
    static List<RgbImage> scene;

    @BeforeAll
    static void load() {
        vlm = Glimpse.load(DemoModel.folder(), LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        scorer = new FrameScorer(vlm);
        scene = vlm.pictures(Media.imageFile(DemoModel.scene()));
    }

    @AfterAll
    static void close() {
        vlm.close();
    }

    @Test
    void probabilityIsTheSoftmaxEntry() {
        float[] logits = {0f, (float) Math.log(3), Float.NEGATIVE_INFINITY};
        assertEquals(0.25, FrameScorer.probability(logits, 0), 1e-7);
        assertEquals(0.75, FrameScorer.probability(logits, 1), 1e-7);
        assertEquals(0.0, FrameScorer.probability(logits, 2));
        assertThrows(IllegalArgumentException.class, () -> FrameScorer.probability(logits, 3));
    }

    @Test
    void probabilityStaysFiniteForLargeLogits() {
        assertEquals(0.5, FrameScorer.probability(new float[] {1e30f, 1e30f}, 0), 1e-12);
    }

    @Test
    void scoreIsTheFullVocabularySoftmaxOfTheLogitsPathForTheSamePrompt() {
        FrameScorer.Scores scores = scorer.score(scene, FrameScorer.question(List.of("star", "circle"), "q"));
        float[] logits = vlm.logits(Media.imageFile(DemoModel.scene()), scores.prompt()).lastLogits();
        assertEquals(vlm.llava().config().text().vocabSize(), logits.length);
        int a = scores.answerTokenId();
        double logSumExp = logSumExp(logits);
        double expected = Math.exp(logits[a] - logSumExp);
        assertEquals(expected, scores.probabilities()[0], 1e-12);
        double twoWay = 1 / (1 + Math.exp(logits[tokenOf("B", scores.prompt())] - logits[a]));
        assertTrue(scores.probabilities()[0] < twoWay, "a softmax over A and B only would give " + twoWay);
    }

    @Test
    void answerTokenIsWhatTheTokenizerMakesOfAAfterThePrompt() {
        String prompt = scorer.prompt(FrameScorer.question(List.of(), "What color is the star?"));
        int id = scorer.answerTokenId(prompt);
        assertEquals("A", vlm.llava().tokenizer().decode(new int[] {id}, false).strip());
    }

    @Test
    void promptIsOneUserTurnWithTheImageThroughTheChatTemplate() {
        String prompt = scorer.prompt(FrameScorer.question(List.of("star", "circle"), "q"));
        assertEquals("USER: <image>\nDoes the image contain any object of star, circle? A. yes, B. no\n"
                + "Answer with the option's letter directly. ASSISTANT:", prompt);
    }

    @Test
    void fallbackPromptAsksWhetherTheFrameSufficesForTheQuestion() {
        assertEquals("What color is the star?\nDoes the image contain sufficient information to answer the given "
                        + "question? A. yes, B. no\nAnswer with the option's letter directly.",
                FrameScorer.question(List.of(), "What color is the star?"));
    }

    private static int tokenOf(String letter, String prompt) {
        int[] before = vlm.llava().tokenizer().encode(prompt, false);
        return vlm.llava().tokenizer().encode(prompt + letter, false)[before.length];
    }

    private static double logSumExp(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum);
    }
}
