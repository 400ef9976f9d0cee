package dev.glimpse.kernels.cuda;

import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;

/**
 * Loading of JavaCPP's CUDA bindings (cudart with the driver API, cuBLAS) and the status checks
 * every call goes through. The system's CUDA 13 libraries are used (found through
 * {@code LD_LIBRARY_PATH}, e.g. {@code /usr/local/cuda/lib64}), or those of the
 * {@code org.bytedeco:cuda-redist} jars when a user adds them to the classpath.
 */
final class Cuda {

    private static final String LIBRARY_HINT = "install the NVIDIA driver and the CUDA 13 toolkit and put its lib64 "
            + "folder on LD_LIBRARY_PATH, or add org.bytedeco:cuda-redist:13.1-9.19-1.5.13 (linux-x86_64) to the classpath";

    private static volatile String loadFailure;
    private static volatile boolean loaded;

    private Cuda() {
    }

    /**
     * Loads the native bindings once. Returns null when they loaded, else why not (in words a user
     * can act on).
     */
    static synchronized String load() {
        if (loaded) {
            return null;
        }
        if (loadFailure != null) {
            return loadFailure;
        }
        try {
            Loader.load(cudart.class);
            Loader.load(cublas.class);
            loaded = true;
            return null;
        } catch (LinkageError | RuntimeException e) {
            loadFailure = "the CUDA libraries could not be loaded (" + rootMessage(e) + "); " + LIBRARY_HINT;
            return loadFailure;
        }
    }

    /** Throws unless a runtime API call returned cudaSuccess. */
    static void check(int status, String call) {
        if (status != cudart.cudaSuccess) {
            throw new CudaException(call + " failed: " + runtimeError(status));
        }
    }

    /** Throws unless a driver API call returned CUDA_SUCCESS. */
    static void checkDriver(int status, String call) {
        if (status != cudart.CUDA_SUCCESS) {
            PointerPointer<BytePointer> name = new PointerPointer<>(1);
            cudart.cuGetErrorName(status, name);
            BytePointer text0 = name.get(BytePointer.class, 0);
            String text = text0 == null || text0.isNull() ? "unknown" : text0.getString();
            throw new CudaException(call + " failed: " + text + " (" + status + ")");
        }
    }

    /** Throws unless a cuBLAS call returned CUBLAS_STATUS_SUCCESS. */
    static void checkBlas(int status, String call) {
        if (status != cublas.CUBLAS_STATUS_SUCCESS) {
            throw new CudaException(call + " failed: " + cublas.cublasGetStatusString(status).getString() + " (" + status + ")");
        }
    }

    static String runtimeError(int status) {
        return cudart.cudaGetErrorName(status).getString() + " (" + status + "): "
                + cudart.cudaGetErrorString(status).getString();
    }

    /** A JavaCPP pointer at a raw address (device memory or a native MemorySegment); owns nothing. */
    static Pointer at(long address) {
        return new RawPointer(address);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + ": " + t.getMessage();
    }

    /** JavaCPP's Pointer keeps its address in a protected field; this sets it. */
    private static final class RawPointer extends Pointer {
        RawPointer(long address) {
            this.address = address;
        }
    }
}
