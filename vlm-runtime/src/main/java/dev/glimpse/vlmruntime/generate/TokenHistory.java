package dev.glimpse.vlmruntime.generate;

/**
 * The token ids a repetition penalty looks at: the prompt's ids and every generated one (HF's
 * {@code input_ids}), kept as a set with its members listed, in arrays sized once per sequence.
 */
public final class TokenHistory {

    private final boolean[] seen;
    private final int[] distinct;
    private int count;

    public TokenHistory(int vocabSize) {
        this.seen = new boolean[vocabSize];
        this.distinct = new int[vocabSize];
    }

    public void add(int id) {
        if (id < 0 || id >= seen.length) {
            return;
        }
        if (!seen[id]) {
            seen[id] = true;
            distinct[count++] = id;
        }
    }

    public void addAll(int[] ids) {
        for (int id : ids) {
            add(id);
        }
    }

    /** Number of distinct ids seen. */
    public int size() {
        return count;
    }

    /** The i-th distinct id, in first-seen order. */
    public int get(int i) {
        return distinct[i];
    }
}
