package dev.glimpse.vlmruntime.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The requests {@link ServeMixBench} sends, as a REST {@code serve} sees them: one question about the
 * picture per request, of 3 to 30 words drawn from a fixed vocabulary, and a {@code max_tokens} of
 * 32, 64, 100 or 128, all from a seed, so every variant and round sends the very same sequence. The
 * prompt lengths this gives LLaVA-1.5-7B at a 64-token visual budget (74 to 164 tokens on the H200 runs) plus
 * those {@code max_tokens} span two 256-entry capacity buckets (a 164-token prompt with 128 new tokens needs
 * 292 entries).
 *
 * @param requests the requests in the order sent
 */
record ServeMix(List<Request> requests) {

    /** {@code max_tokens} values a request draws from. */
    static final int[] MAX_TOKENS = {32, 64, 100, 128};
    static final int MIN_WORDS = 3;
    static final int MAX_WORDS = 30;
    private static final String[] WORDS = {"what", "is", "the", "color", "of", "object", "near", "left", "corner",
        "describe", "picture", "in", "detail", "how", "many", "people", "are", "there", "and", "where", "standing",
        "does", "image", "show", "a", "dog", "cat", "car", "tree", "sky", "building", "text", "written", "on", "sign",
        "background", "foreground", "lighting", "time", "day", "weather", "like", "mood", "scene", "explain", "why"};

    ServeMix {
        requests = List.copyOf(requests);
    }

    /**
     * One request.
     *
     * @param question     the user's question
     * @param maxNewTokens its {@code max_tokens}
     */
    record Request(String question, int maxNewTokens) {
    }

    /** {@code count} requests drawn from {@code seed}. */
    static ServeMix of(long seed, int count) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int words = MIN_WORDS + random.nextInt(MAX_WORDS - MIN_WORDS + 1);
            StringBuilder question = new StringBuilder();
            for (int w = 0; w < words; w++) {
                question.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            }
            question.append('?');
            requests.add(new Request(question.toString(), MAX_TOKENS[random.nextInt(MAX_TOKENS.length)]));
        }
        return new ServeMix(requests);
    }
}
