package dev.glimpse.evalharness.synth;

import java.util.Locale;

/**
 * The question families. Images: {@link #COLOR} of a unique shape, {@link #SHAPE} of a unique
 * colour, {@link #COUNT}, {@link #PRESENCE} (yes/no with hard negatives), {@link #POSITION}.
 * Clips: {@link #NEEDLE} (an object visible in a few frames only), {@link #TEMPORAL} (what
 * appears after a given object), {@link #COUNT_OVER_TIME} (objects that appeared in the clip).
 */
public enum QuestionType {
    COLOR, SHAPE, COUNT, PRESENCE, POSITION, NEEDLE, TEMPORAL, COUNT_OVER_TIME;

    /** The name in files and tables ("count_over_time"). */
    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Whether the answer is yes or no (scored with POPE's yes/no extraction). */
    public boolean yesNo() {
        return this == PRESENCE;
    }

    public static QuestionType ofKey(String key) {
        return valueOf(key.toUpperCase(Locale.ROOT));
    }
}
