package dev.glimpse.kernels.cuda;

import java.util.Locale;

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
        return new CudaOptions(0, value == null || value.isBlank() ? 0 : parseBytes(value.trim(), source));
    }

    /** Parses "1073741824", "512m", "24g" or "1.5t" (binary units) into bytes. */
    static long parseBytes(String text, String source) {
        String s = text.toLowerCase(Locale.ROOT);
        long unit = switch (s.isEmpty() ? ' ' : s.charAt(s.length() - 1)) {
            case 'k' -> 1L << 10;
            case 'm' -> 1L << 20;
            case 'g' -> 1L << 30;
            case 't' -> 1L << 40;
            default -> 1L;
        };
        String number = unit == 1 ? s : s.substring(0, s.length() - 1);
        try {
            double v = Double.parseDouble(number);
            if (v < 0 || Double.isNaN(v)) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + " must be a size such as 24g, 512m or a byte count, not '" + text + "'");
        }
    }
}
