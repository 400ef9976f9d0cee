package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Sizes;

/**
 * How the CUDA backend is set up.
 *
 * @param device       CUDA device index (as {@code nvidia-smi} numbers them, after
 *                     {@code CUDA_VISIBLE_DEVICES})
 * @param memoryBudget most bytes of device memory Glimpse may hold at once; 0 for no budget
 *                     other than the card's memory
 */
public record CudaOptions(int device, long memoryBudget) {

    /** The system property that caps device memory, e.g. {@code -Dglimpse.cuda.memory=24g}. */
    public static final String MEMORY_PROPERTY = "glimpse.cuda.memory";
    /** The environment variable read when the property is not set, e.g. {@code GLIMPSE_CUDA_MEMORY=24g}. */
    public static final String MEMORY_ENV = "GLIMPSE_CUDA_MEMORY";

    public CudaOptions {
        if (device < 0) {
            throw new IllegalArgumentException("CUDA device index must be >= 0, got " + device);
        }
        if (memoryBudget < 0) {
            throw new IllegalArgumentException("CUDA memory budget must be >= 0 bytes, got " + memoryBudget);
        }
    }

    /** Device 0 with the budget from {@value #MEMORY_PROPERTY} or {@value #MEMORY_ENV} (none if unset). */
    public static CudaOptions defaults() {
        String value = System.getProperty(MEMORY_PROPERTY);
        String source = "-D" + MEMORY_PROPERTY;
        if (value == null) {
            value = System.getenv(MEMORY_ENV);
            source = MEMORY_ENV;
        }
        return new CudaOptions(0, value == null || value.isBlank() ? 0 : Sizes.parseBytes(value.trim(), source));
    }
}
