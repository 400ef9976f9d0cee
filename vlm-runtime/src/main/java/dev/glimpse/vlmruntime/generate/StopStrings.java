package dev.glimpse.vlmruntime.generate;

import java.util.List;

/**
 * HF's {@code StopStringCriteria} on decoded text: generation stops when a stop string occurs in
 * the generated text and overlaps the text of the newest token (an occurrence wholly before it
 * would have stopped generation earlier). HF matches token strings of the whole sequence; Glimpse
 * matches {@code tokenizer.decode(generated, skip_special_tokens=True)}, so a stop string never
 * spans into the prompt. The newest token's text starts where the decoded text stops agreeing with
 * the previous step's (a token may complete a character the previous text showed as U+FFFD).
 */
final class StopStrings {

    private final List<String> strings;

    StopStrings(List<String> strings) {
        this.strings = List.copyOf(strings);
    }

    boolean isEmpty() {
        return strings.isEmpty();
    }

    /** The stop string matched now, or null; the newest token's text starts at {@code newTextStart}. */
    String match(String text, int newTextStart) {
        if (text.length() == newTextStart) {
            return null;
        }
        for (String stop : strings) {
            if (text.indexOf(stop, Math.max(0, newTextStart - stop.length() + 1)) >= 0) {
                return stop;
            }
        }
        return null;
    }

    /** Where {@code current} starts to differ from {@code previous}. */
    static int divergence(String previous, String current) {
        int n = Math.min(previous.length(), current.length());
        int i = 0;
        while (i < n && previous.charAt(i) == current.charAt(i)) {
            i++;
        }
        return i;
    }
}
