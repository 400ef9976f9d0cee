package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The NVIDIA GPU backend: cuBLAS for matrix products, Glimpse's own kernels (precompiled from
 * {@code kernels/src/main/cuda}) for everything else, all ordered on one stream with memory from
 * a stream-ordered pool ({@link DeviceMemory}). Tensors it makes live on {@code cuda:N} and are
 * read from Java only through {@link #download}; operations return as soon as their work is
 * queued, and {@link #download}, {@link #argmax} and {@link #synchronize} wait for it.
 *
 * <p>Operations are serialised (one stream, one launch buffer); call them from any thread.
 * {@link #topK} returns device tensors. {@link #open} fails with
 * {@link Backends.UnavailableException}, saying why, when there is no usable GPU or library.
 */
public final class CudaBackend implements Backend {

    private static final Logger LOG = LoggerFactory.getLogger(CudaBackend.class);

    private final CudaContext ctx;
    private final CudaCopy copier;
    private final CudaGemm gemm;
    private final CudaPointwise pointwise;
    private final CudaAttention attention;
    private final CudaTopK topK;

    private CudaBackend(CudaContext ctx) {
        this.ctx = ctx;
        this.copier = new CudaCopy(ctx);
        this.gemm = new CudaGemm(ctx, copier);
        this.pointwise = new CudaPointwise(ctx, copier);
        this.attention = new CudaAttention(ctx, copier);
        this.topK = new CudaTopK(ctx, copier);
    }

    /**
     * Opens the backend on {@code options.device()}: loads the libraries, creates the context,
     * stream, pool and cuBLAS handle, and launches a probe kernel to prove the kernel path.
     *
     * @throws Backends.UnavailableException with the reason when CUDA cannot be used
     */
    public static CudaBackend open(CudaOptions options) {
        String failure = Cuda.load();
        if (failure != null) {
            throw new Backends.UnavailableException(failure);
        }
        int[] count = new int[1];
        int status = cudart.cudaGetDeviceCount(count);
        if (status != cudart.cudaSuccess) {
            throw new Backends.UnavailableException("no usable CUDA device: cudaGetDeviceCount says "
                    + Cuda.runtimeError(status) + " (is the NVIDIA driver installed and a GPU visible?)");
        }
        if (options.device() >= count[0]) {
            throw new Backends.UnavailableException("CUDA device " + options.device() + " does not exist; "
                    + count[0] + " device(s) are visible (check CUDA_VISIBLE_DEVICES)");
        }
        CudaContext ctx;
        try {
            ctx = new CudaContext(options);
        } catch (CudaException e) {
            throw new Backends.UnavailableException("CUDA device " + options.device() + " could not be set up: " + e.getMessage());
        }
        CudaBackend backend = new CudaBackend(ctx);
        try {
            backend.probe();
        } catch (RuntimeException e) {
            backend.close();
            throw new Backends.UnavailableException("the CUDA kernels could not run on " + ctx.deviceName + ": " + e.getMessage());
        }
        LOG.info("backend: cuda:{} ({}, {} multiprocessors)", options.device(), ctx.deviceName, ctx.multiprocessors);
        return backend;
    }

    /** The GPU's name as the driver reports it, e.g. "NVIDIA H200". */
    public String deviceName() {
        return ctx.deviceName;
    }

    /** Device bytes held by live tensors and scratch of this backend. */
    public long bytesInUse() {
        return ctx.memory.bytesInUse();
    }

    /** Waits until every queued operation has finished; reports a kernel that failed. */
    public synchronized void synchronize() {
        ctx.bindThread();
        ctx.synchronize();
    }

    /** Launches probe_iota over 1000 elements and checks the values: the module-load and launch path works. */
    private synchronized void probe() {
        ctx.bindThread();
        int n = 1000;
        try (Tensor t = ctx.scratch(DType.F32, n)) {
            ctx.launch.of(ctx.kernels.function("elementwise", "probe_iota"), "probe_iota")
                    .ptr(CudaContext.address(t)).i32(n).f32(0.5f).run(ctx.pointwiseBlocks(n), 1, CudaContext.POINTWISE_THREADS, 0);
            try (Tensor host = copier.download(t)) {
                float[] values = host.toFloatArray();
                for (int i = 0; i < n; i++) {
                    if (values[i] != i * 0.5f) {
                        throw new CudaException("probe kernel wrote " + values[i] + " at " + i + ", expected " + i * 0.5f);
                    }
                }
            }
        }
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public Device device() {
        return ctx.device;
    }

    @Override
    public synchronized Tensor allocate(DType dtype, int... shape) {
        ctx.bindThread();
        return ctx.memory.tensor(dtype, shape, true);
    }

    @Override
    public synchronized Tensor upload(Tensor host) {
        ctx.bindThread();
        return copier.upload(host);
    }

    @Override
    public synchronized Tensor download(Tensor tensor) {
        ctx.bindThread();
        return copier.download(tensor);
    }

    @Override
    public synchronized void copy(Tensor src, Tensor dst) {
        ctx.bindThread();
        copier.copy(src, dst);
    }

    @Override
    public synchronized void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        ctx.bindThread();
        gemm.linear(x, w, bias, out);
    }

    @Override
    public synchronized void batchedMatmul(Tensor a, Tensor bm, boolean transposeB, float alpha, Tensor out) {
        ctx.bindThread();
        gemm.batchedMatmul(a, bm, transposeB, alpha, out);
    }

    @Override
    public synchronized void add(Tensor a, Tensor b, Tensor out) {
        ctx.bindThread();
        pointwise.binary(a, b, out, 0, "add");
    }

    @Override
    public synchronized void mul(Tensor a, Tensor b, Tensor out) {
        ctx.bindThread();
        pointwise.binary(a, b, out, 1, "mul");
    }

    @Override
    public synchronized void scale(Tensor a, float s, Tensor out) {
        ctx.bindThread();
        pointwise.scale(a, s, out);
    }

    @Override
    public synchronized void activation(Activation f, Tensor x, Tensor out) {
        ctx.bindThread();
        pointwise.activation(f, x, out);
    }

    @Override
    public synchronized void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out) {
        ctx.bindThread();
        pointwise.gatedActivation(f, gate, up, out);
    }

    @Override
    public synchronized void softmax(Tensor x, Tensor out) {
        ctx.bindThread();
        pointwise.softmax(x, out);
    }

    @Override
    public synchronized void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        ctx.bindThread();
        pointwise.layerNorm(x, gamma, beta, eps, out);
    }

    @Override
    public synchronized void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        ctx.bindThread();
        pointwise.rmsNorm(x, gamma, eps, out);
    }

    @Override
    public synchronized void l2Norm(Tensor x, Tensor out) {
        ctx.bindThread();
        pointwise.l2Norm(x, out);
    }

    @Override
    public synchronized void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        ctx.bindThread();
        pointwise.rope(x, cos, sin, out);
    }

    @Override
    public synchronized void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                                       AttentionCapture capture) {
        ctx.bindThread();
        attention.compute(q, k, v, mask, scale, out, capture);
    }

    @Override
    public synchronized void embedding(Tensor table, int[] ids, Tensor out) {
        ctx.bindThread();
        copier.embedding(table, ids, out);
    }

    @Override
    public synchronized void gatherRows(Tensor x, int[] rows, Tensor out) {
        ctx.bindThread();
        copier.gatherRows(x, rows, out);
    }

    @Override
    public synchronized void concat(int axis, List<Tensor> parts, Tensor out) {
        ctx.bindThread();
        copier.concat(axis, parts, out);
    }

    @Override
    public synchronized int[] argmax(Tensor x) {
        ctx.bindThread();
        return pointwise.argmax(x);
    }

    @Override
    public synchronized TopK topK(Tensor scores, int k, TopK.Order order) {
        ctx.bindThread();
        return topK.topK(scores, k, order);
    }

    @Override
    public synchronized void close() {
        gemm.close();
        ctx.close();
    }
}
