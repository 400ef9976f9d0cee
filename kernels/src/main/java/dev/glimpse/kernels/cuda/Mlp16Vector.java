package dev.glimpse.kernels.cuda;


/**
 * Values per thread of the rounded gated activation ({@link CudaBackend#gatedActivationRounded}:
 * {@code gated_activation_<t>_v4} or {@code _v8} of elementwise.cu), chosen with
 * {@code -Dglimpse.cuda.mlp16Vector=auto|4|8} (read at every launch). The first H200 run (2026-11-29, bundle 0cd2153,
 * PrefillSmallKernelsBench's {@code mlp16_activation} lines in
 * bench/results/h200-kernels-2026-11-29-session10.jsonl, eight per thread at 45 registers, against
 * {@code gated_activation_f32_v4}) had eight
 * per thread win where the pass streams memory (Llama-7B at 586 rows, 6.4 M values: 17.5 -> 13.3 us) and lose
 * where it is latency-bound (Llama-7B at 74 rows, 0.8 M values: 2.80 -> 3.36 us; Qwen2-0.5B at 586, 2.9 M:
 * 5.12 -> 6.20): too few threads in flight. Both kernels now run at 32 registers (full occupancy); {@link #AUTO}
 * takes eight from {@value #AUTO_EIGHT_MIN_VALUES} values on, four below. That threshold comes from the
 * 45-register eight-per-thread kernel alone: the shipped four- and eight-per-thread kernels have not been
 * measured against each other yet ({@code mlp16_activation_v4} / {@code _v8} lines, gpu-test.sh part
 * {@code smallkernels}), so it may move.
 */
public enum Mlp16Vector {

    /** Four below {@value #AUTO_EIGHT_MIN_VALUES} values, eight from there on. */
    AUTO("auto"),
    /** Four values per thread: 8-byte loads and stores. */
    FOUR("4"),
    /** Eight values per thread: 16-byte loads and stores. */
    EIGHT("8");

    /** The system property that picks the values per thread. */
    public static final String PROPERTY = "glimpse.cuda.mlp16Vector";

    /** Values from which {@link #AUTO} takes eight per thread (between the 2.9 M that lost and the 6.4 M that won). */
    static final long AUTO_EIGHT_MIN_VALUES = 4L << 20;

    private final String id;

    Mlp16Vector(String id) {
        this.id = id;
    }

    /** The name the property takes, e.g. "8". */
    public String id() {
        return id;
    }

    /** Values per thread for a pass over {@code values} values: 4 or 8. */
    int valuesPerThread(long values) {
        return switch (this) {
            case FOUR -> 4;
            case EIGHT -> 8;
            case AUTO -> values >= AUTO_EIGHT_MIN_VALUES ? 8 : 4;
        };
    }

    /** The choice the property names now, {@link #AUTO} when it is unset or blank. */
    public static Mlp16Vector configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The choice called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static Mlp16Vector parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, AUTO, values(), Mlp16Vector::id, "values-per-thread choice of the rounded gated activation");
    }
}
