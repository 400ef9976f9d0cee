package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cublas.cublasContext;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;

/**
 * Everything the CUDA operations share on one device: the stream every kernel, copy and cuBLAS
 * call is ordered on, the memory arena, the pool of pinned host buffers, the kernel library, the launch builder and the cuBLAS
 * handle. Made current on a calling thread with {@link #bindThread()}.
 */
final class CudaContext implements AutoCloseable {

    /** Threads per block of the pointwise kernels. */
    static final int POINTWISE_THREADS = 256;

    final Device device;
    final CUstream_st stream = new CUstream_st();
    final DeviceMemory memory;
    final PinnedPool pinned;
    final KernelLibrary kernels;
    final Launch launch;
    final cublasContext blas = new cublasContext();
    final String deviceName;
    final int multiprocessors;
    private final ThreadLocal<Boolean> bound = ThreadLocal.withInitial(() -> false);

    CudaContext(CudaOptions options) {
        device = Device.cuda(options.device());
        Cuda.check(cudart.cudaSetDevice(options.device()), "cudaSetDevice(" + options.device() + ")");
        Cuda.check(cudart.cudaFree(null), "cudaFree(null) (context creation)");
        bound.set(true);
        deviceName = name(options.device());
        multiprocessors = attribute(cudart.cudaDevAttrMultiProcessorCount, options.device());
        int optIn = attribute(cudart.cudaDevAttrMaxSharedMemoryPerBlockOptin, options.device());
        Cuda.check(cudart.cudaStreamCreateWithFlags(stream, cudart.cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
        memory = new DeviceMemory(device, stream, options.memoryBudget());
        pinned = new PinnedPool(stream);
        kernels = new KernelLibrary(optIn - 4096);
        launch = new Launch(stream);
        Cuda.checkBlas(cublas.cublasCreate_v2(blas), "cublasCreate");
        Cuda.checkBlas(cublas.cublasSetStream_v2(blas, stream), "cublasSetStream");
        Cuda.checkBlas(cublas.cublasSetMathMode(blas, cublas.CUBLAS_DEFAULT_MATH), "cublasSetMathMode");
    }

    /** Makes this device current on the calling thread (once per thread). */
    void bindThread() {
        if (!bound.get()) {
            Cuda.check(cudart.cudaSetDevice(device.index()), "cudaSetDevice(" + device.index() + ")");
            bound.set(true);
        }
    }

    /** Blocks until all work on the stream has finished; reports a kernel that failed. */
    void synchronize() {
        int status = cudart.cudaStreamSynchronize(stream);
        if (status != cudart.cudaSuccess) {
            throw new CudaException("a CUDA operation on " + device + " failed: " + Cuda.runtimeError(status));
        }
    }

    /** Device address of a tensor's first element. */
    static long address(Tensor t) {
        return t.segment().address() + t.byteOffset();
    }

    /** A contiguous device tensor that the caller closes; contents undefined. */
    Tensor scratch(DType dtype, int... shape) {
        return memory.tensor(dtype, shape, false);
    }

    /** Blocks for a grid-stride kernel over {@code n} elements: enough to fill the GPU, no more. */
    long pointwiseBlocks(long n) {
        long blocks = (n + POINTWISE_THREADS - 1) / POINTWISE_THREADS;
        return Math.max(1, Math.min(blocks, (long) multiprocessors * 16));
    }

    private static int attribute(int attribute, int device) {
        int[] value = new int[1];
        Cuda.check(cudart.cudaDeviceGetAttribute(value, attribute, device), "cudaDeviceGetAttribute(" + attribute + ")");
        return value[0];
    }

    private static String name(int device) {
        byte[] buffer = new byte[256];
        Cuda.checkDriver(cudart.cuDeviceGetName(buffer, buffer.length, device), "cuDeviceGetName");
        int end = 0;
        while (end < buffer.length && buffer[end] != 0) {
            end++;
        }
        return new String(buffer, 0, end, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        bindThread();
        cudart.cudaStreamSynchronize(stream);
        cublas.cublasDestroy_v2(blas);
        pinned.close();
        memory.close();
        kernels.close();
        launch.close();
        cudart.cudaStreamDestroy(stream);
    }
}
