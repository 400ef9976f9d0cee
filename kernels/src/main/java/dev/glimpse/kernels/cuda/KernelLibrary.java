package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.cudart.CUmod_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;

/**
 * Glimpse's precompiled kernels: one fatbin per {@code kernels/src/main/cuda/*.cu} file, on the
 * classpath under {@value #RESOURCE_DIR} (built by {@code tools/cuda/build-kernels.sh}), loaded
 * with {@code cuModuleLoadData} on first use. The driver picks the SASS for the GPU or
 * JIT-compiles the embedded PTX.
 */
final class KernelLibrary implements AutoCloseable {

    static final String RESOURCE_DIR = "/dev/glimpse/kernels/cuda/";

    private static final Logger LOG = LoggerFactory.getLogger(KernelLibrary.class);

    private final Map<String, CUmod_st> modules = new HashMap<>();
    private final Map<String, CUfunc_st> functions = new HashMap<>();
    private final int maxDynamicSharedBytes;

    /** @param maxDynamicSharedBytes the dynamic shared memory large kernels are allowed (opt-in limit) */
    KernelLibrary(int maxDynamicSharedBytes) {
        this.maxDynamicSharedBytes = maxDynamicSharedBytes;
    }

    /** Kernel {@code name} of module {@code module} (the .cu file's base name). */
    synchronized CUfunc_st function(String module, String name) {
        String key = module + "/" + name;
        CUfunc_st f = functions.get(key);
        if (f == null) {
            f = new CUfunc_st();
            Cuda.checkDriver(cudart.cuModuleGetFunction(f, module(module), name), "cuModuleGetFunction(" + key + ")");
            functions.put(key, f);
        }
        return f;
    }

    /** Like {@link #function} and lets the kernel use up to {@link #maxDynamicSharedBytes()} of dynamic shared memory. */
    synchronized CUfunc_st largeSharedFunction(String module, String name) {
        String key = module + "/" + name;
        boolean fresh = !functions.containsKey(key);
        CUfunc_st f = function(module, name);
        if (fresh) {
            Cuda.checkDriver(cudart.cuFuncSetAttribute(f, cudart.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                    maxDynamicSharedBytes), "cuFuncSetAttribute(" + key + ", max dynamic shared memory)");
        }
        return f;
    }

    int maxDynamicSharedBytes() {
        return maxDynamicSharedBytes;
    }

    private CUmod_st module(String name) {
        CUmod_st m = modules.get(name);
        if (m != null) {
            return m;
        }
        String resource = RESOURCE_DIR + name + ".fatbin";
        byte[] image;
        try (InputStream in = KernelLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new CudaException("kernel module " + resource + " is missing from the classpath; "
                        + "rebuild it with tools/cuda/build-kernels.sh");
            }
            image = in.readAllBytes();
        } catch (IOException e) {
            throw new CudaException("reading kernel module " + resource + ": " + e.getMessage());
        }
        m = new CUmod_st();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment native_ = arena.allocate(image.length, 16);
            MemorySegment.copy(image, 0, native_, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, image.length);
            Cuda.checkDriver(cudart.cuModuleLoadData(m, Cuda.at(native_.address())), "cuModuleLoadData(" + resource + ")");
        }
        LOG.debug("loaded CUDA module {} ({} bytes)", resource, image.length);
        modules.put(name, m);
        return m;
    }

    @Override
    public synchronized void close() {
        for (CUmod_st m : modules.values()) {
            cudart.cuModuleUnload(m);
        }
        modules.clear();
        functions.clear();
    }
}
