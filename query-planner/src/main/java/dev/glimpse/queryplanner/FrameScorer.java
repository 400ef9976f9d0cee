package dev.glimpse.queryplanner;

import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.text.ChatMessage;
import dev.glimpse.vlmruntime.text.ChatTemplate;
import dev.glimpse.vlmruntime.text.ContentPart;
import dev.glimpse.vlmruntime.text.Tokenizer;

import java.util.List;

/**
 * QuoTA's frame scoring (PAPERS.md, QuoTA step 3): each frame goes through the VLM once with a
 * yes/no question as option letters, no generation, and its relevance is
 * {@code p_t = softmax(last-position logits)[id of "A"]}, the softmax over the full vocabulary.
 * <ul>
 *   <li>with objects: {@value #OBJECT_QUESTION} (objects joined by ", ");</li>
 *   <li>without (the decoupling fallback): the question, a line break, then
 *       {@value #SUFFICIENCY_QUESTION}.</li>
 * </ul>
 * Both end with {@value #ANSWER_FORMAT}. The prompt is one user turn with the frame as its image,
 * through the checkpoint's chat template with the generation prompt, scored through
 * {@link VisionLanguageModel#logits} (the {@code glimpse logits} path). The id of "A" is the token the
 * tokenizer makes of "A" written right after the prompt (for SentencePiece-style vocabularies that
 * may be "▁A" rather than "A"), so it is the token the model would generate there.
 *
 * <p>One forward pass per frame: the public API runs one prompt per call, so frames are not batched.
 */
public final class FrameScorer {

    static final String OBJECT_QUESTION = "Does the image contain any object of %s? A. yes, B. no";
    static final String SUFFICIENCY_QUESTION = "Does the image contain sufficient information to answer the given "
            + "question? A. yes, B. no";
    static final String ANSWER_FORMAT = "\nAnswer with the option's letter directly.";
    static final String YES_OPTION = "A";

    private final VisionLanguageModel vlm;
    private final ChatTemplate template;

    public FrameScorer(VisionLanguageModel vlm) {
        this.vlm = vlm;
        this.template = ChatTemplate.load(vlm.folder());
    }

    /**
     * The prompt's text part: QuoTA's object question when {@code objects} is non-empty, else
     * the sufficiency question under {@code question}.
     */
    public static String question(List<String> objects, String question) {
        String asked = objects.isEmpty() ? question.strip() + "\n" + SUFFICIENCY_QUESTION
                : OBJECT_QUESTION.formatted(String.join(", ", objects));
        return asked + ANSWER_FORMAT;
    }

    /**
     * The raw prompt (for {@link VisionLanguageModel#logits}) that scores one frame: the chat
     * template over one user turn (the image, then {@code text}) with the generation prompt, less a
     * leading BOS the tokenizer adds itself.
     */
    public String prompt(String text) {
        String rendered = template.render(List.of(ChatMessage.parts("user", new ContentPart.Image(),
                new ContentPart.Text(text))), true);
        String bos = vlm.llava().tokenizer().specialTokens().bos().orElse(null);
        return bos != null && rendered.startsWith(bos) ? rendered.substring(bos.length()) : rendered;
    }

    /** The token id of {@value #YES_OPTION} as the tokenizer encodes it right after {@code prompt}. */
    public int answerTokenId(String prompt) {
        Tokenizer tokenizer = vlm.llava().tokenizer();
        int[] before = tokenizer.encode(prompt, false);
        int[] after = tokenizer.encode(prompt + YES_OPTION, false);
        int i = 0;
        while (i < before.length && i < after.length && before[i] == after[i]) {
            i++;
        }
        if (i >= after.length) {
            throw new IllegalStateException("the tokenizer of " + vlm.folder() + " makes no token of '"
                    + YES_OPTION + "' after the scoring prompt");
        }
        return after[i];
    }

    /**
     * {@code p_t} of each frame for {@code text} ({@link #question}).
     *
     * @return the probabilities and the answer token id they are read at
     */
    public Scores score(List<RgbImage> frames, String text) {
        String prompt = prompt(text);
        int answerId = answerTokenId(prompt);
        double[] p = new double[frames.size()];
        for (int t = 0; t < p.length; t++) {
            p[t] = probability(vlm.logits(Media.image(frames.get(t)), prompt).lastLogits(), answerId);
        }
        return new Scores(prompt, answerId, p);
    }

    /** {@code softmax(logits)[id]} over every entry of {@code logits}, in double with the max subtracted. */
    public static double probability(float[] logits, int id) {
        if (id < 0 || id >= logits.length) {
            throw new IllegalArgumentException("token id " + id + " is outside the " + logits.length + "-entry vocabulary");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (float v : logits) {
            sum += Math.exp(v - max);
        }
        return Math.exp(logits[id] - max) / sum;
    }

    /**
     * Frame probabilities.
     *
     * @param prompt        the raw prompt every frame was scored with
     * @param answerTokenId the token id of "A" read from the logits
     * @param probabilities {@code p_t} per frame
     */
    public record Scores(String prompt, int answerTokenId, double[] probabilities) {
        public Scores {
            probabilities = probabilities.clone();
        }

        @Override
        public double[] probabilities() {
            return probabilities.clone();
        }
    }
}
