package dev.glimpse.evalharness.metrics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Scores a generated answer against a one-word expected answer, as PAPERS.md's evaluation
 * details prescribe:
 * <ul>
 *   <li>open answers (colour, shape, count, position, clips): GQA-style exact match after
 *       {@link #normalize}: first line only, lower case, punctuation to spaces, articles
 *       (a, an, the) dropped, number words zero to twenty as digits, whitespace collapsed. "The
 *       star." matches "star"; "It is red" does not match "red";</li>
 *   <li>yes/no answers (presence): POPE's extraction ({@link #yesNo}): the first sentence is "no"
 *       when one of its words is "no" or "not" (or ends in "n't"), else "yes". An empty answer
 *       is neither and is always wrong (POPE would read it as "yes").</li>
 * </ul>
 */
public final class AnswerMatcher {

    private static final Pattern NOT_WORD = Pattern.compile("[^a-z0-9']+");
    private static final List<String> ARTICLES = List.of("a", "an", "the");
    private static final Map<String, String> NUMBERS = numberWords();

    private AnswerMatcher() {
    }

    /** Whether {@code prediction} answers {@code expected}; {@code yesNo} selects POPE's extraction. */
    public static boolean correct(String prediction, String expected, boolean yesNo) {
        if (yesNo) {
            String extracted = yesNo(prediction);
            return !extracted.isEmpty() && extracted.equals(normalize(expected));
        }
        String p = normalize(prediction);
        return !p.isEmpty() && p.equals(normalize(expected));
    }

    /** The normalised form used for exact match (see the class comment). */
    public static String normalize(String text) {
        List<String> words = new ArrayList<>();
        for (String w : words(firstLine(text))) {
            String bare = w.replace("'", "");
            if (bare.isEmpty() || ARTICLES.contains(bare)) {
                continue;
            }
            words.add(NUMBERS.getOrDefault(bare, bare));
        }
        return String.join(" ", words);
    }

    /** "yes" or "no" by POPE's rule over the first sentence; "" for an answer with no words. */
    public static String yesNo(String text) {
        String sentence = firstLine(text).split("[.!?]", 2)[0];
        List<String> words = words(sentence);
        if (words.isEmpty()) {
            return "";
        }
        boolean negative = words.stream().anyMatch(w -> w.equals("no") || w.equals("not") || w.endsWith("n't"));
        return negative ? "no" : "yes";
    }

    private static String firstLine(String text) {
        String t = text == null ? "" : text.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static List<String> words(String text) {
        List<String> out = new ArrayList<>();
        for (String w : NOT_WORD.split(text.toLowerCase(Locale.ROOT).replace('\u2019', '\''))) {
            String trimmed = w.replaceAll("^'+|'+$", "");
            if (!trimmed.isEmpty()) {
                out.add(trimmed);
            }
        }
        return out;
    }

    private static Map<String, String> numberWords() {
        String[] names = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                "twenty"};
        Map<String, String> out = new HashMap<>();
        for (int i = 0; i < names.length; i++) {
            out.put(names[i], Integer.toString(i));
        }
        return Map.copyOf(out);
    }
}
