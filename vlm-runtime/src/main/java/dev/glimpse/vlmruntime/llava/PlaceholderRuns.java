package dev.glimpse.vlmruntime.llava;

import dev.glimpse.vlmruntime.text.Tokenizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;
import java.util.function.IntUnaryOperator;
import java.util.function.Supplier;

/**
 * The token ids of a prompt whose placeholders stand for runs of feature rows, without tokenizing the
 * runs. HF's processors repeat each {@code <image>} / {@code <video>} once per feature row in the text
 * and tokenize that: 576 placeholders for a LLaVA-1.5 image, 6,273 for a OneVision video, about 0.8
 * and 9 ms of host time in the Rust tokenizer on this project's CI machine (2026-11-29), on the
 * request's path to its first token. An added token is split out of the text before the model's own
 * pre-tokenizer sees it, so the text between placeholders tokenizes alike whether a placeholder stands
 * once or n times, and a run of n placeholders is n copies of its id: then tokenizing the prompt with
 * each placeholder once and repeating its id gives the same ids.
 *
 * <p>That holds for an added token matched wherever it occurs, and not for every configuration (an
 * added token with {@code single_word} matches by the characters around it; another added token could
 * span two copies). So it is proven per tokenizer and placeholder at load ({@link #probe}): runs of 1 to
 * 3 copies inside several contexts must tokenize as the one-copy text with the id repeated. A
 * placeholder that fails the probe is expanded in the text and tokenized as HF does, as before.
 */
final class PlaceholderRuns {

    private static final Logger LOG = LoggerFactory.getLogger(PlaceholderRuns.class);

    /** Texts around a probed run: word characters, spaces, newlines and nothing on either side. */
    private static final List<String[]> PROBE_CONTEXTS = List.of(new String[]{"", ""}, new String[]{"a", "b"},
            new String[]{"USER: ", "\nWhat is this? ASSISTANT:"}, new String[]{" ", " "}, new String[]{"\n", "\n"},
            new String[]{"x ", "y"});

    private final Tokenizer tokenizer;
    private final int imageTokenId;
    private final int videoTokenId;
    private final boolean imageRuns;
    private final boolean videoRuns;

    private PlaceholderRuns(Tokenizer tokenizer, int imageTokenId, int videoTokenId, boolean imageRuns,
                            boolean videoRuns) {
        this.tokenizer = tokenizer;
        this.imageTokenId = imageTokenId;
        this.videoTokenId = videoTokenId;
        this.imageRuns = imageRuns;
        this.videoRuns = videoRuns;
    }

    /**
     * Probes {@code tokenizer} for the image placeholder and, with a video token id of at least 0,
     * the video placeholder.
     */
    static PlaceholderRuns probe(Tokenizer tokenizer, String imageToken, int imageTokenId, String videoToken,
                                 int videoTokenId) {
        boolean image = runsAreCopies(tokenizer, imageToken, imageTokenId);
        boolean video = videoTokenId >= 0 && runsAreCopies(tokenizer, videoToken, videoTokenId);
        return new PlaceholderRuns(tokenizer, imageTokenId, videoTokenId, image, videoTokenId < 0 || video);
    }

    /** Whether runs of {@code token} tokenize as copies of {@code id} in every probe context. */
    static boolean runsAreCopies(Tokenizer tokenizer, String token, int id) {
        for (String[] context : PROBE_CONTEXTS) {
            int[] once = tokenizer.encode(context[0] + token + context[1], true);
            for (int n = 1; n <= 3; n++) {
                int copies = n;
                int[] expected = expand(once, t -> t == id ? copies : 1);
                int[] actual = tokenizer.encode(context[0] + token.repeat(n) + context[1], true);
                if (!Arrays.equals(expected, actual)) {
                    LOG.info("placeholder {} (id {}): a run of {} tokenizes as {}, not as copies of the id in {}; "
                            + "its runs are tokenized in full", token, id, n, Arrays.toString(actual), Arrays.toString(expected));
                    return false;
                }
            }
        }
        return true;
    }

    /** Whether both placeholders tokenize as runs of copies, so {@link #encode} skips tokenizing the runs. */
    boolean compact() {
        return imageRuns && videoRuns;
    }

    /**
     * The ids of {@code text} with its i-th image placeholder repeated {@code imageRows[i]} times and
     * its video placeholder {@code videoRows} times, as tokenizing {@code expanded} gives them;
     * {@code expanded} is tokenized in full when a placeholder failed the probe or the text's own ids
     * hold other counts of placeholder ids than {@code imageRows} and {@code videoRows} say (then the
     * caller's checks report what the full tokenization found).
     */
    int[] encode(String text, Supplier<String> expanded, int[] imageRows, int videoRows, boolean addSpecialTokens) {
        if (!compact()) {
            return tokenizer.encode(expanded.get(), addSpecialTokens);
        }
        int[] once = tokenizer.encode(text, addSpecialTokens);
        int images = 0;
        int videos = 0;
        for (int id : once) {
            images += id == imageTokenId ? 1 : 0;
            videos += id == videoTokenId ? 1 : 0;
        }
        if (images != imageRows.length || videos != (videoRows > 0 ? 1 : 0)) {
            return tokenizer.encode(expanded.get(), addSpecialTokens);
        }
        int[] nextImage = {0};
        return expand(once, id -> id == imageTokenId ? imageRows[nextImage[0]++] : id == videoTokenId ? videoRows : 1);
    }

    /** {@code ids} with each id repeated {@code copies.applyAsInt(id)} times, in order. */
    private static int[] expand(int[] ids, IntUnaryOperator copies) {
        int[] counts = new int[ids.length];
        int total = 0;
        for (int i = 0; i < ids.length; i++) {
            counts[i] = copies.applyAsInt(ids[i]);
            total += counts[i];
        }
        int[] out = new int[total];
        int at = 0;
        for (int i = 0; i < ids.length; i++) {
            Arrays.fill(out, at, at + counts[i], ids[i]);
            at += counts[i];
        }
        return out;
    }
}
