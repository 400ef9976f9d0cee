package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.L2PrefetchMode;

/**
 * The L2 prefetches of one decoder layer's prefill on CUDA ({@code -Dglimpse.cuda.prefillL2Prefetch},
 * {@link L2PrefetchMode}; off by default): a prefill of few rows streams each GEMM's weights from HBM
 * once, and the small kernels between two GEMMs (RMSNorm, RoPE with the cache append, attention, the
 * gated activation) leave the HBM idle. Right after each GEMM the layer {@link #fork}s a prefetch of
 * the next GEMM's first {@link #bytes} bytes on a side stream ({@link CudaBackend#forkL2Prefetch}),
 * so they are read while the small kernels run and the GEMM finds them in L2; the layer
 * {@link #join}s at its end (the GEMMs never wait for a prefetch; a CUDA graph needs every branch
 * joined before its capture ends). A prefetch writes nothing: the same bits with it on or off.
 *
 * <p>Only where the GEMMs are weight-streaming bound: more than {@link CudaBackend#GEMV_MAX_ROWS}
 * rows (the decode step's GEMVs prefetch their own weights) and at most {@link #MAX_ROWS}.
 */
final class PrefillL2Prefetch {

    /**
     * Most rows a prefill prefetches for: a BF16 GEMM reads each weight once and does {@code 2 rows}
     * FLOP per weight byte, so it is bound by HBM below about 200 rows on an H200 (989 dense TFLOP/s
     * over 4.8 TB/s) and cuBLASLt reaches that peak only partly, hence 256; LLaVA-1.5-7B's prefill at
     * 64 VTC-CLS tokens is 74 rows, its full image 586.
     */
    static final int MAX_ROWS = 256;

    /**
     * Share of the GPU's L2 a prefetch fills: 30 MiB of the H200's 50, most of a 7B layer's o_proj
     * (32 MiB) or the first sixth of its gate/up stack, leaving room for the small kernels' rows and
     * the GEMM's activations.
     */
    static final double L2_SHARE = 0.6;

    /** No prefetches: other backends, the decode step, large prefills, the property off. */
    static final PrefillL2Prefetch NONE = new PrefillL2Prefetch(null, L2PrefetchMode.OFF, 0);

    private final CudaBackend cuda;
    private final L2PrefetchMode mode;
    private final long bytes;

    private PrefillL2Prefetch(CudaBackend cuda, L2PrefetchMode mode, long bytes) {
        this.cuda = cuda;
        this.mode = mode;
        this.bytes = bytes;
    }

    /** The prefetches for a block of {@code rows} rows on {@code b}, the property read now. */
    static PrefillL2Prefetch forRows(Backend b, int rows) {
        if (!(b instanceof CudaBackend cuda) || rows <= CudaBackend.GEMV_MAX_ROWS || rows > MAX_ROWS) {
            return NONE;
        }
        L2PrefetchMode mode = L2PrefetchMode.configured();
        return mode == L2PrefetchMode.OFF ? NONE : new PrefillL2Prefetch(cuda, mode, (long) (cuda.l2CacheBytes() * L2_SHARE));
    }

    /**
     * Forks the prefetch of {@code weights}' first {@link #bytes} bytes: the next GEMM's, queued after
     * the work so far. Weights that are not one contiguous block on the GPU are left alone.
     */
    void fork(Tensor weights) {
        if (cuda != null && weights.device().equals(cuda.device()) && weights.isContiguous()) {
            cuda.forkL2Prefetch(weights, bytes, mode);
        }
    }

    /** Makes the stream wait for the prefetches forked so far. */
    void join() {
        if (cuda != null) {
            cuda.joinL2Prefetches();
        }
    }
}
