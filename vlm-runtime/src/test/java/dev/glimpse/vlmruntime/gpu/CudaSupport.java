package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import org.junit.jupiter.api.Assumptions;

/**
 * Whether the model-level GPU tests can run: CUDA is probed once per JVM ({@link CudaBackend#open}
 * loads the libraries, finds a device and runs a probe kernel), and every test that calls
 * {@link #requireCuda} is skipped, with the reason, where it cannot.
 */
public final class CudaSupport {

    private static Boolean available;
    private static String reason;

    private CudaSupport() {
    }

    /** Skips the calling test (a JUnit assumption) unless a CUDA device is usable. */
    public static synchronized void requireCuda() {
        if (available == null) {
            try (CudaBackend probe = CudaBackend.open(CudaOptions.defaults())) {
                available = probe.device() != null;
            } catch (Backends.UnavailableException e) {
                available = false;
                reason = e.getMessage();
            }
        }
        Assumptions.assumeTrue(available, () -> "no GPU: CUDA model tests skipped (" + reason + ")");
    }
}
