package dev.glimpse.kernels.cuda;


/**
 * Decode weight staging for the fused decode GEMVs ({@code decode_fused.cu}'s {@code *_staged}
 * kernels), chosen with {@code -Dglimpse.cuda.decodeWeightStaging=off|staged|early}: each block
 * first copies its weight rows into shared memory ({@code cp.async}) and only then waits for the
 * previous kernel (programmatic dependent launch), so the weights stream from HBM while that kernel
 * runs; the products then read them from shared memory. The arithmetic, and so every output bit, is
 * the unstaged kernels'. {@link #EARLY} also lets the next kernel start before this one waits, so
 * that several kernels of a decode layer can be staging at once (as far as shared memory allows).
 *
 * <p>A launch stages only under programmatic dependent launch (sm_90+, {@code glimpse.cuda.pdl} on),
 * where each block's weight rows fit {@link CudaFusedDecode#STAGE_BYTES} and every block is resident
 * at once (Qwen2-0.5B's decode GEMVs do; none of Llama-7B's do: they run unstaged). On an H200
 * (2026-11-29, b018923), LLaVA-OneVision-0.5B's decode in one JVM: 0.954x the milliseconds per token
 * of {@link #OFF} with {@link #EARLY}, 0.966x with {@link #STAGED}; DecodeStepBench 3-9% less per layer. The property is read at every launch, so a benchmark can switch in one JVM; a
 * captured graph keeps what it was captured with.
 */
public enum WeightStaging {

    /** The unstaged kernels. */
    OFF("off"),
    /** Staged kernels that let the next kernel start after their wait, as the unstaged ones do. */
    STAGED("staged"),
    /** Staged kernels that let the next kernel start before their wait. The default. */
    EARLY("early");

    /** The system property that picks the mode. */
    public static final String PROPERTY = "glimpse.cuda.decodeWeightStaging";

    /** The mode used when the property is not set. */
    public static final WeightStaging DEFAULT = EARLY;

    private final String id;

    WeightStaging(String id) {
        this.id = id;
    }

    /** The name the property takes, e.g. "early". */
    public String id() {
        return id;
    }

    /** The mode the property names now, {@link #DEFAULT} when it is unset or blank. */
    public static WeightStaging configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The mode called {@code id} (case-insensitive); {@link #DEFAULT} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static WeightStaging parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, DEFAULT, values(), WeightStaging::id, "decode weight staging mode");
    }
}
