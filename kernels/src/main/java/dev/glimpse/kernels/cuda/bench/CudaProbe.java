package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;

/**
 * The first thing to run on a new GPU machine: opens the CUDA backend (libraries, context, kernel
 * module load and a probe kernel launch, checked) in its own JVM, so a native crash cannot take
 * a test run with it. Prints one line and exits 0 when the kernel path works, 1 with the reason
 * when CUDA is unavailable.
 */
public final class CudaProbe {

    private CudaProbe() {
    }

    public static void main(String[] args) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            System.out.println("cuda probe: ok on " + gpu.deviceName() + " (module load, launch and readback checked)");
        } catch (Backends.UnavailableException e) {
            System.out.println("cuda probe: unavailable: " + e.getMessage());
            System.exit(1);
        }
    }
}
