package dev.glimpse.kernels;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * Chooses the backend at start-up through a logged fallback chain: {@code auto} tries CUDA, then
 * the CPU; {@code cuda} and {@code cpu} force one (forcing CUDA where it is unavailable is an
 * error, not a silent fallback). CUDA is usable when JavaCPP's CUDA bindings load against the
 * system's CUDA 13 libraries (on {@code LD_LIBRARY_PATH}) or the {@code cuda-redist} jars, a
 * device is visible and a probe kernel runs; {@link CudaOptions#defaults()} gives its settings.
 */
public final class Backends {

    private static final Logger LOG = LoggerFactory.getLogger(Backends.class);

    /** What the user asked for with {@code --device}. */
    public enum Choice {
        CPU, CUDA, AUTO;

        public static Choice parse(String value) {
            return switch (value.toLowerCase(Locale.ROOT)) {
                case "cpu" -> CPU;
                case "cuda", "gpu" -> CUDA;
                case "auto" -> AUTO;
                default -> throw new IllegalArgumentException("--device must be cpu, cuda or auto, not '" + value + "'");
            };
        }
    }

    /** CUDA was asked for and cannot be used; the message says why. */
    public static final class UnavailableException extends RuntimeException {
        public UnavailableException(String message) {
            super(message);
        }
    }

    private Backends() {
    }

    public static Backend create(Choice choice) {
        return switch (choice) {
            case CPU -> {
                LOG.info("backend: cpu (forced by --device cpu)");
                yield new CpuBackend();
            }
            case CUDA -> {
                try {
                    CudaBackend cuda = CudaBackend.open(CudaOptions.defaults());
                    LOG.info("backend: cuda (forced by --device cuda)");
                    yield cuda;
                } catch (UnavailableException e) {
                    throw new UnavailableException("--device cuda: " + e.getMessage() + "; or use --device cpu or auto");
                }
            }
            case AUTO -> {
                try {
                    CudaBackend cuda = CudaBackend.open(CudaOptions.defaults());
                    LOG.info("backend: cuda (--device auto: {} is usable)", cuda.deviceName());
                    yield cuda;
                } catch (UnavailableException e) {
                    LOG.info("backend: cpu (--device auto: CUDA unavailable: {})", e.getMessage());
                    yield new CpuBackend();
                }
            }
        };
    }
}
