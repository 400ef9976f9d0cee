package dev.glimpse.evalharness.synth;

import java.util.Locale;

/**
 * Benchmark splits as disjoint seed ranges. Scene and clip {@code i} of a split have seed
 * {@code firstSeed + i} (scenes and clips draw from different random streams, so sharing a seed
 * number does not make them alike):
 * <pre>
 * split       seeds                        scenes      clips
 * train       0 .. 9,999,999               10,000,000  10,000,000
 * validation  10,000,000 .. 10,000,999     1,000       1,000  (benchmark: first 300 scenes, 100 clips)
 * test        20,000,000 .. 20,000,999     1,000       1,000  (benchmark: first 300 scenes, 100 clips)
 * </pre>
 * Training code reads train only; model selection uses validation; test is for reporting.
 */
public enum Split {
    TRAIN(0, 10_000_000, 10_000_000, 10_000_000),
    VALIDATION(10_000_000, 1_000, 300, 100),
    TEST(20_000_000, 1_000, 300, 100);

    private final long firstSeed;
    private final long size;
    private final int benchmarkScenes;
    private final int benchmarkClips;

    Split(long firstSeed, long size, int benchmarkScenes, int benchmarkClips) {
        this.firstSeed = firstSeed;
        this.size = size;
        this.benchmarkScenes = benchmarkScenes;
        this.benchmarkClips = benchmarkClips;
    }

    /** The seed of item {@code index} of this split. */
    public long seed(long index) {
        if (index < 0 || index >= size) {
            throw new IllegalArgumentException(key() + " has " + size + " items; index " + index + " is outside");
        }
        return firstSeed + index;
    }

    public long firstSeed() {
        return firstSeed;
    }

    /** Items (scenes or clips) the seed range holds. */
    public long size() {
        return size;
    }

    /** Whether {@code seed} belongs to this split. */
    public boolean contains(long seed) {
        return seed >= firstSeed && seed < firstSeed + size;
    }

    /** Scenes the evaluation benchmark takes from this split. */
    public int benchmarkScenes() {
        return benchmarkScenes;
    }

    /** Clips the evaluation benchmark takes from this split. */
    public int benchmarkClips() {
        return benchmarkClips;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The split called {@code key} (train, validation, test); an IllegalArgumentException naming them otherwise. */
    public static Split ofKey(String key) {
        for (Split s : values()) {
            if (s.key().equals(key.strip().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new IllegalArgumentException("--split '" + key + "' is not a split; use train, validation or test");
    }
}
