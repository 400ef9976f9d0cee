package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import dev.glimpse.kernels.image.PixelNormalization;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Map;

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

    /**
     * The system property that keeps F32 activations into every GEMM ({@code false}; default {@code true}, see
     * {@link #halfActivationsForGemm}); read strictly ({@link BooleanProperty}) once, when this class loads.
     */
    public static final String HALF_GEMM_INPUTS_PROPERTY = "glimpse.cuda.halfGemmInputs";

    /**
     * The system property that keeps {@code cublasGemmEx} and a separate bias pass for prefill/vision GEMMs with
     * 16-bit weights ({@code false}; default {@code true}: cuBLASLt, bias in its epilogue); read strictly
     * ({@link BooleanProperty}) once, when {@code CudaGemm} loads.
     */
    public static final String LT_MATMUL_PROPERTY = "glimpse.cuda.ltMatmul";

    private static final boolean HALF_GEMM_INPUTS = BooleanProperty.read(HALF_GEMM_INPUTS_PROPERTY, true);

    /** Threads of the one block of {@code step_inputs_advance}. */
    private static final int ADVANCE_THREADS = 128;

    private final CudaContext ctx;
    private final CudaCopy copier;
    private final CudaGemm gemm;
    private final CudaPointwise pointwise;
    private final CudaAttention attention;
    private final CudaTopK topK;
    private final CudaTokenScores tokenScores;
    private final CudaQueryRow queryRow;
    private final CudaFusedDecode fused;
    private final CudaDecodeAttention decodeAttention;

    private CudaBackend(CudaContext ctx) {
        this.ctx = ctx;
        this.copier = new CudaCopy(ctx);
        this.gemm = new CudaGemm(ctx, copier);
        this.pointwise = new CudaPointwise(ctx, copier);
        this.attention = new CudaAttention(ctx, copier);
        this.topK = new CudaTopK(ctx, copier);
        this.tokenScores = new CudaTokenScores(ctx, copier);
        this.queryRow = new CudaQueryRow(ctx, gemm, pointwise);
        this.fused = new CudaFusedDecode(ctx, copier, gemm, pointwise);
        this.decodeAttention = new CudaDecodeAttention(ctx);
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

    /**
     * True above {@value CudaGemm#GEMV_MAX_ROWS} rows: there, products with F16/BF16 weights round
     * x to the weights' dtype for the tensor-core GEMM, so x already in that dtype skips a
     * conversion pass with identical values. Up to that, the GEMV reads F32 x exactly.
     * {@code -Dglimpse.cuda.halfGemmInputs=false} answers false throughout (models keep F32
     * activations and the GEMM converts them), for comparisons.
     */
    @Override
    public boolean halfActivationsForGemm(int rows) {
        return HALF_GEMM_INPUTS && rows > CudaGemm.GEMV_MAX_ROWS;
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

    /**
     * {@code out = f(x w^T + bias)}. With F16/BF16 weights, more than {@value CudaGemm#GEMV_MAX_ROWS}
     * rows and {@link Activation#GELU_TANH}, one cuBLASLt call with the GELU in its epilogue writes
     * out (F32, or the weights' dtype: the next product's input) and no F32 pre-activation tensor
     * exists; other activations (cuBLASLt has none for quick_gelu, erf GELU or SiLU), the GEMV rows,
     * F32 weights and {@code -Dglimpse.cuda.gemmEpilogues=false} run {@link #linear} then
     * {@link #activation}, through an F32 scratch tensor when out is 16-bit. Under
     * {@code glimpse.cuda.towerMlp16} ({@link #towerMlp16Enabled}, default on) an activation other than
     * gelu_tanh into a 16-bit out of the weights' dtype (CLIP's quick_gelu into fc2's input) has cuBLASLt
     * write fc1's output rounded to that dtype from its bias epilogue, then applies f in place on those
     * rows ({@code activation_bf16_v8} / {@code activation_f16_v8}): no F32 tensor, as HF's bf16 fc1
     * rounds its output before the activation.
     */
    @Override
    public synchronized void linearActivation(Activation f, Tensor x, Tensor w, Tensor bias, Tensor out) {
        ctx.bindThread();
        if (f == Activation.GELU_TANH && gemm.linearGelu(x, w, bias, out)) {
            return;
        }
        if (f != Activation.GELU_TANH && towerMlp16Enabled() && pointwise.activationInPlaceFits(out)
                && gemm.linearRounded(x, w, bias, out)) {
            pointwise.activationInPlace(f, out);
            return;
        }
        if (out.dtype() == DType.F32) {
            gemm.linear(x, w, bias, out);
            pointwise.activation(f, out, out);
            return;
        }
        try (Tensor pre = ctx.scratch(DType.F32, out.shape())) {
            gemm.linear(x, w, bias, pre);
            pointwise.activation(f, pre, out);
        }
    }

    /** The system property that turns the prefill/vision GEMM epilogues off ({@code false}) for A/B runs. */
    public static final String GEMM_EPILOGUES_PROPERTY = "glimpse.cuda.gemmEpilogues";

    /**
     * True unless {@code -Dglimpse.cuda.gemmEpilogues=false}: {@link #linearActivation} (GELU) and
     * {@link #linearAddResidual} (residual) fold their pointwise step into the cuBLASLt GEMM on the
     * tensor-core path. Read at every call, so a benchmark can flip it between passes.
     */
    public static boolean gemmEpiloguesEnabled() {
        return BooleanProperty.read(GEMM_EPILOGUES_PROPERTY, true);
    }

    @Override
    public synchronized void linearStack(Tensor x, Tensor w, Tensor bias, Tensor out) {
        ctx.bindThread();
        gemm.linearStack(x, w, bias, out);
    }

    @Override
    public synchronized void batchedMatmul(Tensor a, Tensor bm, boolean transposeB, float alpha, Tensor out) {
        ctx.bindThread();
        gemm.batchedMatmul(a, bm, transposeB, alpha, out);
    }

    /**
     * One query's softmax attention row over every key, per head: {@code out[h, 0, :] =
     * softmax(scale * q[0, h, :] k[:, h, :]^T)} for query [1, heads, D], keys [N, heads, D] and out
     * [heads, 1, N], all F32, in one launch ({@code query_attention_row_f32}: VTC-CLS's [CLS] rows under
     * {@link #vtcFusedEnabled}). Equal to {@link #batchedMatmul} then {@link #softmax} to F32 rounding (the
     * dot products are summed in another order); shapes the kernel does not take run those two.
     */
    public synchronized void queryAttentionRow(Tensor query, Tensor keys, float scale, Tensor out) {
        ctx.bindThread();
        queryRow.compute(query, keys, scale, out);
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

    /**
     * {@link #linearStack} rounded as HF's 16-bit {@code gate_proj}/{@code up_proj} round (a decoder MLP
     * under {@code -Dglimpse.cuda.mlp16}, {@link #mlp16Enabled}): out [B, m, n] of the 16-bit weights'
     * dtype, out[i] = x w[i]^T + bias[i] with F32 accumulation, the bias added in cuBLASLt's epilogue
     * (read in out's dtype) and the sum rounded to nearest even once on store, one batched launch. Returns
     * false, having queued no product, where that launch does not apply (F32 weights, out not packed of their
     * dtype, at most 8 rows, cuBLASLt without an algorithm or called first inside a capture, a bias whose
     * stacked rows are not 256-byte multiples): the caller then takes {@link #linearStack} into F32.
     */
    public synchronized boolean linearStackRounded(Tensor x, Tensor w, Tensor bias, Tensor out) {
        ctx.bindThread();
        return gemm.linearStackRounded(x, w, bias, out);
    }

    /**
     * {@code out = T(T(f(gate)) * up)} for packed gate, up and out of one 16-bit dtype T: HF's
     * {@code act_fn(gate_proj(x)) * up_proj(x)} in a bf16/f16 model (torch's activation and mul compute in
     * F32 and round their outputs), where {@link #gatedActivation} computes {@code f(gate) * up} in F32
     * from F32 inputs and rounds once. {@code gated_activation_<t>_v4} / {@code _v8} (elementwise.cu), four
     * or eight values per thread ({@link Mlp16Vector}, {@code -Dglimpse.cuda.mlp16Vector}); any size. out may be
     * gate or up.
     */
    public synchronized void gatedActivationRounded(Activation f, Tensor gate, Tensor up, Tensor out) {
        ctx.bindThread();
        pointwise.gatedActivationRounded(f, gate, up, out);
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
    public synchronized void layerNormTokenMajor(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        ctx.bindThread();
        pointwise.layerNormTokenMajor(x, gamma, beta, eps, out);
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
                                       AttentionCapture capture, boolean[] activeHeads, AttentionPrecision precision) {
        ctx.bindThread();
        attention.compute(q, k, v, mask, scale, out, capture, precision);
        attention.zeroHeads(out, capture, activeHeads);
    }

    /** The system property that lets a decoder prefill's attention store o_proj's 16-bit input itself ({@code true}, the default; {@code false} turns it off). */
    public static final String ATTENTION_HALF_OUTPUT_PROPERTY = "glimpse.cuda.attentionHalfOutput";

    /**
     * True unless {@code -Dglimpse.cuda.attentionHalfOutput=false} (read at every call): a decoder
     * prefill block with 16-bit weights hands {@link #attentionHalfOutput} a 16-bit output, so the F32
     * attention rows and o_proj's {@code convert_f32} (LLaVA-7B at 586 rows: 7.1 us per layer on the
     * H200, ncu, 2026-11-28) give way to the kernel's own rounding: the same bits. Attention plus
     * o_proj on the H200 (PrefillSmallKernelsBench, 2026-11-29, bundle of 989b4bc): Llama-7B 77.6 ->
     * 73.0 us at 586 rows, 22.2 -> 20.1 at 74; Qwen2-0.5B 21.7 -> 19.5 and 10.0 -> 8.8.
     */
    public static boolean attentionHalfOutputEnabled() {
        return BooleanProperty.read(ATTENTION_HALF_OUTPUT_PROPERTY, true);
    }

    /**
     * {@link #attention} (no capture, every head active) into a 16-bit {@code out} [T, Hq, D] of the
     * pass's type, rounded by the kernel (rounded to nearest even: the bits {@link #attention}'s F32
     * rows copied to that type get), where the in-place cache kernel runs
     * ({@code attention_mma_cache_<t>_d<D>_<shape>_o16}); false, having queued nothing, elsewhere
     * (other kernels, F32 precision, K and V not views of a 16-bit cache): the caller then runs
     * {@link #attention} into F32.
     */
    public synchronized boolean attentionHalfOutput(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale,
                                                    Tensor out, AttentionPrecision precision) {
        ctx.bindThread();
        return attention.cacheHalfOutput(q, k, v, mask, scale, out, precision);
    }

    /** The system property that runs a short prefill block's RoPE, cache append and attention as one launch (default {@code true}; {@code false} runs them as two). */
    public static final String PREFILL_ROPE_ATTENTION_PROPERTY = "glimpse.cuda.prefillRopeAttention";

    /** The system property that bounds the rows {@link #ropeAppendAttention} takes (default {@value #PREFILL_ROPE_ATTENTION_MAX_ROWS}). */
    public static final String PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY = "glimpse.cuda.prefillRopeAttention.maxRows";

    /**
     * Default of {@link #prefillRopeAttentionMaxRows()}: two 64-key tiles of new rows. Each block of the fused
     * kernel rotates and stores every new cache row its key tiles read, before its first key tile, so the blocks
     * of one query head store the new rows several times over where the separate append stores them once: 3x at
     * 128 rows (w2s2's 32-query blocks), at LLaVA-7B's 586 rows 6x (Llama-7B, w4) to 11x (Qwen2-0.5B, w2s2, and
     * once more per query head of a kv group), with the longest block rotating all 586 rows before its first key
     * tile. PrefillSmallKernelsBench times both row counts.
     */
    public static final int PREFILL_ROPE_ATTENTION_MAX_ROWS = 128;

    /**
     * True unless {@code -Dglimpse.cuda.prefillRopeAttention=false} (read at every call): a decoder prefill
     * block that would run {@link #ropeAppendKvRows} then {@link #attentionHalfOutput} runs
     * {@link #ropeAppendAttention} instead, the same bits. Default on since the H200 measured it (2026-11-29,
     * bundle of a27f54e, {@code CudaLlavaBench --ab} in one JVM, 16 rounds, median of the per-round ratios):
     * LLaVA-1.5-7B's 74-row prefill 0.986x [quartiles 0.985, 0.987], its TTFT at 64 VTC-CLS tokens 6.540 ->
     * 6.463 ms (0.989x), and again 6.556 -> 6.469 ms (0.986x) in a second call; its GPU tests passed there.
     */
    public static boolean prefillRopeAttentionEnabled() {
        return BooleanProperty.read(PREFILL_ROPE_ATTENTION_PROPERTY, true);
    }

    /**
     * The most rows {@link #ropeAppendAttention} takes: {@code -Dglimpse.cuda.prefillRopeAttention.maxRows}
     * (read at every call; default {@value #PREFILL_ROPE_ATTENTION_MAX_ROWS}).
     *
     * @throws CudaException naming the property when its value is not a positive integer
     */
    public static int prefillRopeAttentionMaxRows() {
        String value = System.getProperty(PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY);
        if (value == null || value.isBlank()) {
            return PREFILL_ROPE_ATTENTION_MAX_ROWS;
        }
        String problem = "-D" + PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY + "=" + value + " is not a positive number of rows";
        int rows;
        try {
            rows = Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new CudaException(problem);
        }
        if (rows <= 0) {
            throw new CudaException(problem);
        }
        return rows;
    }

    /**
     * {@link #ropeAppendKvRows}{@code (q, k, v, cos, sin, keyCache, valueCache, start)} followed by
     * {@link #attentionHalfOutput} over the caches' first {@code start + T} entries (causal from {@code start})
     * in one launch ({@code prefill_rope_attention_<t>_d<D>_<shape>}): the same cache entries and output bits,
     * except that q is left unrotated (output bits within rounding where {@code -Dglimpse.cuda.ropeAttentionSmallGrid}
     * gives it another block shape than the pair's). False, having queued nothing, where that kernel does not apply (see
     * {@code CudaAttention#ropeAppendAttention}: among others fewer than 16 or more than
     * {@link #prefillRopeAttentionMaxRows()} rows, F32 precision or caches, head dims other than 64 and 128);
     * the caller then runs the pair.
     */
    public synchronized boolean ropeAppendAttention(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin,
                                                    Tensor keyCache, Tensor valueCache, int start, float scale,
                                                    Tensor out, AttentionPrecision precision) {
        ctx.bindThread();
        return attention.ropeAppendAttention(q, k, v, cos, sin, keyCache, valueCache, start, scale, out, precision);
    }

    /**
     * How many times {@link #ropeAppendAttention} queued its fused kernel on this backend, eagerly or into a
     * captured graph (replays do not count): lets a caller see that the opt-in path ran rather than declined.
     */
    public long ropeAppendAttentionLaunches() {
        return attention.ropeAppendAttentionLaunches();
    }

    /**
     * How many times {@link #attentionImagesAsHeads} queued the resident kernel of {@link TowerAttentionResident}
     * (a graph replay does not count): tests and benches check that the path they select ran.
     */
    public long towerAttentionResidentLaunches() {
        return attention.residentImagesLaunches();
    }

    /**
     * {@link Backend#attentionImagesAsHeads}: the 16-bit mma kernels storing the image-major rows
     * themselves ({@code attention_mma_images_*}) where they apply, else the default composition.
     */
    @Override
    public synchronized void attentionImagesAsHeads(Tensor q, Tensor k, Tensor v, float scale, Tensor out,
                                                    AttentionPrecision precision) {
        ctx.bindThread();
        if (!attention.imagesAsHeads(q, k, v, scale, out, precision)) {
            Backend.super.attentionImagesAsHeads(q, k, v, scale, out, precision);
        }
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
    public synchronized void attentionRowScores(List<Tensor> rows, int first, Tensor out) {
        ctx.bindThread();
        tokenScores.attentionRowScores(rows, first, out);
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

    /**
     * Reads every on/off switch of the CUDA backend strictly ({@link BooleanProperty}), the ones its classes read at
     * call time included, so a bad value fails when a model loads (RuntimeSettings), naming the property, instead
     * of at the first request that reaches it. Loads no CUDA library.
     *
     * @throws IllegalArgumentException for a value other than true, false or blank
     */
    public static void checkSwitches() {
        gemmEpiloguesEnabled();
        attentionHalfOutputEnabled();
        prefillRopeAttentionEnabled();
        fusedDecodeEnabled();
        prefillFusionEnabled();
        ropeAppendVectorEnabled();
        vtcFusedEnabled();
        BooleanProperty.read(CudaLtMatmul.TUNE_PROPERTY, true);
        BooleanProperty.read(CudaGemm.LT_RESIDUAL_PROPERTY, true);
        BooleanProperty.read(CudaAttention.IN_PLACE_PROPERTY, true);
        BooleanProperty.read(CudaPersistentDecode.TIMERS_PROPERTY, false);
        decodeRopeAttentionEnabled();
    }

    // Decode-step replay: operations whose per-step integers come from device memory, and graphs.

    /** {@code count} per-step integers: pinned on the host, mirrored on the device. */
    public synchronized StepInputs stepInputs(int count) {
        ctx.bindThread();
        return new StepInputs(ctx, count);
    }

    /**
     * The row bucket under which cuBLASLt's measured algorithm for a product of {@code rows} rows is kept and
     * reused ({@code LtProblem#rowBucket}: the power of two at or above it), so a caller can tell which row counts
     * share one measurement, e.g. a server's warm-up.
     */
    public static int ltRowBucket(int rows) {
        return LtProblem.rowBucket(rows);
    }

    /** cuBLASLt plans whose algorithm was chosen by measurement so far; for tests. */
    synchronized int ltTunings() {
        return gemm.ltTunings();
    }

    /** The latest wide cuBLASLt search's report (null before any); for tests. */
    synchronized LtWideSearch.Report ltLastWideSearch() {
        return gemm.ltLastWideSearch();
    }

    /**
     * The cuBLASLt algorithms measured or taken from the choice store so far (the most recent 64):
     * the problem's key in the store to the line that reports the choice (problem, configuration;
     * when measured also ms and GB/s); for benchmarks.
     */
    public synchronized Map<String, String> ltChoices() {
        return gemm.ltChoices();
    }

    /** Page-locked buffers pinned so far for {@link StepInputs} and staging tensors (released ones are reused); for tests. */
    synchronized long pinnedAllocations() {
        return ctx.pinned.allocations();
    }

    /**
     * System property: "false" makes {@link #stagingTensor} hand out plain memory (default true: OneVision's 32-frame
     * TTFT 0.907x, vision 0.882x in one JVM on an H200, 2026-11-29, 61f002c; bench/README.md, session 14).
     */
    public static final String PINNED_STAGING_PROPERTY = "glimpse.cuda.pinnedStaging";

    /** Smallest staging tensor given page-locked memory: below it a pageable upload costs about as little. */
    static final long PINNED_STAGING_MIN_BYTES = 1L << 20;

    /** Largest staging tensor given page-locked memory (the pool keeps released buffers per size). */
    static final long PINNED_STAGING_MAX_BYTES = 512L << 20;

    /**
     * Unless {@code -Dglimpse.cuda.pinnedStaging=false} (read at every call), and for 1 MiB to 512 MiB, a host
     * tensor in page-locked memory from the context's {@link PinnedPool}: {@link #upload} then queues a DMA the
     * host does not wait for (a pageable source is first copied into the driver's staging memory, with the host
     * waiting; a 32-frame SigLIP video is 56.6 MB of F32 pixels). Its contents are unspecified (a reused buffer
     * holds its last owner's values). Closing it gives the buffer back with an event behind the copies queued
     * from it, so no later owner writes it before they ran. Otherwise, and where the host cannot page-lock that much
     * more (warned once), {@link Backend#stagingTensor}'s plain memory.
     */
    @Override
    public Tensor stagingTensor(DType dtype, int... shape) {
        long bytes = Tensor.byteSize(dtype, shape);
        if (!BooleanProperty.read(PINNED_STAGING_PROPERTY, true) || bytes < PINNED_STAGING_MIN_BYTES
                || bytes > PINNED_STAGING_MAX_BYTES) {
            return Tensor.allocate(dtype, shape);
        }
        long address = acquirePinned(bytes);
        if (address == 0) {
            if (!pinnedFallbackLogged) {
                pinnedFallbackLogged = true;
                LOG.warn("page-locked staging unavailable: the host could not pin {} bytes more; uploads of such tensors"
                        + " use pageable memory (slower, same values); -D{}=false stops trying", bytes,
                        PINNED_STAGING_PROPERTY);
            }
            return Tensor.allocate(dtype, shape);
        }
        try {
            MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(bytes);
            return Tensor.owning(segment, Device.CPU, () -> releasePinned(address, bytes), dtype, shape);
        } catch (RuntimeException e) {
            releasePinned(address, bytes);
            throw e;
        }
    }

    /**
     * {@link Backend#normalizePixels} on the device ({@code normalize_pixels_u8}, pixels.cu: the same IEEE
     * operations as {@link PixelNormalization#value}, so the host processor's bits): the 8-bit frames cross to
     * the GPU instead of their F32 pixel values (a quarter of the bytes) and the host skips the per-value work.
     */
    @Override
    public synchronized void normalizePixels(Tensor rgb, PixelNormalization norm, Tensor out) {
        ctx.bindThread();
        Checks.onDevice(rgb, ctx.device, "normalizePixels", "rgb");
        Checks.onDevice(out, ctx.device, "normalizePixels", "out");
        int[] d = PixelNormalization.checkShapes(rgb, out);
        long total = (long) d[0] * d[3] * d[4];
        long blocks = Math.min((total + PIXEL_THREADS - 1) / PIXEL_THREADS, (long) ctx.multiprocessors * 16);
        float[] mean = norm.mean();
        float[] std = norm.std();
        ctx.launch.of(ctx.kernels.function("pixels", "normalize_pixels_u8"), "normalize_pixels_u8")
                .ptr(CudaContext.address(rgb)).ptr(CudaContext.address(out)).i32(d[0]).i32(d[1]).i32(d[2]).i32(d[3])
                .i32(d[4]).i32(norm.rescale() ? 1 : 0).f64(norm.factor()).i32(norm.normalize() ? 1 : 0)
                .f32(mean[0]).f32(mean[1]).f32(mean[2]).f32(std[0]).f32(std[1]).f32(std[2])
                .run(blocks, 1, PIXEL_THREADS, 0);
    }

    private static final int PIXEL_THREADS = 256;

    /** A page-locked buffer of {@code bytes} from the context's pool, or 0 when the host cannot pin that much more. */
    private synchronized long acquirePinned(long bytes) {
        ctx.bindThread();
        return ctx.pinned.tryAcquire(bytes);
    }

    /** Whether {@link #stagingTensor} has said once that it fell back to pageable memory. */
    private volatile boolean pinnedFallbackLogged;

    private synchronized void releasePinned(long address, long bytes) {
        ctx.bindThread();
        ctx.pinned.release(address, bytes);
    }

    /** Queues the copy of {@code inputs}' host values to the device (no host wait; capturable). */
    public synchronized void upload(StepInputs inputs) {
        ctx.bindThread();
        Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(inputs.deviceAddress()), Cuda.at(inputs.hostAddress()),
                inputs.count() * 4L, cudart.cudaMemcpyHostToDevice, ctx.stream), "cudaMemcpyAsync(step inputs)");
    }

    /**
     * Queues, on the device, {@code inputs}' values {@code from} onwards plus one (decode_fused.cu
     * {@code step_inputs_advance}): a step's positions and cache lengths become the next step's
     * without a host upload. Capturable.
     */
    public synchronized void advance(StepInputs inputs, int from) {
        ctx.bindThread();
        int count = inputs.count() - from;
        if (from < 0 || count < 1) {
            throw new IllegalArgumentException("advance from value " + from + " of " + inputs.count());
        }
        ctx.launch.of(ctx.kernels.function(CudaFusedDecode.MODULE, "step_inputs_advance"), "step_inputs_advance")
                .ptr(inputs.deviceAddress() + 4L * from).i32(count).run(1, 1, ADVANCE_THREADS, 0);
    }

    /** Holds what a {@link #pickGreedy} over {@code vocab} logits needs (candidate buffers, a pinned slot, an event). */
    public synchronized GreedyPick greedyPick(int vocab) {
        ctx.bindThread();
        return new GreedyPick(ctx, vocab);
    }

    /**
     * Queues the greedy token of {@code logits} (argmax, first index on ties, as {@link #argmax})
     * into the device I32 cell {@code cell} and its copy back to {@code pick}, whose
     * {@link GreedyPick#await} returns it; waits on nothing.
     */
    public synchronized void pickGreedy(Tensor logits, GreedyPick pick, Tensor cell) {
        ctx.bindThread();
        pick.enqueue(pointwise, logits, cell);
    }

    /**
     * Captures the work {@code enqueue} queues on the stream into a graph instead of running it.
     * Everything it calls must queue without waiting on the host (no downloads, no host index
     * uploads); the kernels and modules it uses should have run once before, so capture loads
     * nothing.
     */
    public synchronized StepGraph capture(Runnable enqueue) {
        ctx.bindThread();
        Cuda.check(cudart.cudaStreamBeginCapture(ctx.stream, cudart.cudaStreamCaptureModeThreadLocal),
                "cudaStreamBeginCapture");
        CUgraph_st graph = new CUgraph_st();
        try {
            enqueue.run();
        } catch (RuntimeException | Error e) {
            cudart.cudaStreamEndCapture(ctx.stream, graph);
            if (!graph.isNull()) {
                cudart.cudaGraphDestroy(graph);
            }
            cudart.cudaGetLastError();
            throw e;
        }
        Cuda.check(cudart.cudaStreamEndCapture(ctx.stream, graph), "cudaStreamEndCapture");
        CUgraphExec_st exec = new CUgraphExec_st();
        int status = cudart.cudaGraphInstantiate(exec, graph, 0L);
        if (status != cudart.cudaSuccess) {
            cudart.cudaGraphDestroy(graph);
            Cuda.check(status, "cudaGraphInstantiate");
        }
        return new StepGraph(graph, exec);
    }

    /** Replays {@code graph} on the stream; returns once it is queued. */
    public synchronized void launch(StepGraph graph) {
        ctx.bindThread();
        graph.launch(ctx);
    }

    /** {@link #embedding(Tensor, int[], Tensor)} with the ids in device memory (I32 [T]). */
    public synchronized void embedding(Tensor table, Tensor ids, Tensor out) {
        ctx.bindThread();
        copier.embedding(table, ids, out);
    }

    /** {@link #gatherRows(Tensor, int[], Tensor)} with the row indices in device memory (I32 [R]). */
    @Override
    public synchronized void gatherRows(Tensor x, Tensor rows, Tensor out) {
        ctx.bindThread();
        copier.gatherRows(x, rows, out);
    }

    /**
     * Writes one token's {@code k}, {@code v} [1, Hkv, D] as entry {@code *length} (I32 [1] on the
     * device) of a layer's caches [Hkv, capacity, D] (packed, F32, BF16 or F16: 16-bit caches get the
     * values rounded to nearest even).
     */
    public synchronized void appendKv(Tensor k, Tensor v, Tensor keyCache, Tensor valueCache, Tensor length) {
        ctx.bindThread();
        attention.appendStep(k, v, keyCache, valueCache, length);
    }

    /**
     * The system property that picks how decode attention merges its key splits:
     * {@code fused} (default: the split kernel's last block per head group merges, one launch) or
     * {@code separate} (a combine kernel after the split kernel); both give the same bits.
     */
    public static final String DECODE_COMBINE_PROPERTY = CudaDecodeAttention.COMBINE_PROPERTY;

    /**
     * The system property that turns programmatic dependent launch of the decode-step kernels off
     * ({@code false}; default {@code true}, used on GPUs of compute capability 9.0+): see
     * {@link GridDependency}. Read at every launch; a captured graph keeps its setting.
     */
    public static final String PDL_PROPERTY = GridDependency.PROPERTY;

    /**
     * The system property that gives the prefill and vision kernels between the cuBLASLt GEMMs
     * (norms, RoPE + KV append, prefill attention, activations, copies) programmatic dependent launch
     * too ({@code true}; default {@code false}, only while {@link #PDL_PROPERTY} is on): see
     * {@link GridDependency#PREFILL_WAITING_KERNELS}. Read at every launch; the same bits either way.
     */
    public static final String PDL_PREFILL_PROPERTY = GridDependency.PREFILL_PROPERTY;

    /**
     * True when this GPU takes programmatic dependent launches (compute capability 9.0 or newer) and
     * the driver has refused none (after a refusal the backend launches in plain stream order).
     */
    public boolean programmaticLaunches() {
        return ctx.launch.dependentLaunches();
    }

    /**
     * Attention of one query {@code q} [1, Hq, D] over the first {@code *keyCount} (I32 [1] on the
     * device) entries of a layer's caches [Hkv, capacity, D] (F32, BF16 or F16, widened exactly; F32
     * arithmetic either way); every one of them is visible.
     * {@code out} may be {@code q} itself, but must not otherwise overlap it.
     */
    public synchronized void decodeAttention(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, float scale,
                                             Tensor out) {
        decodeAttention(q, keyCache, valueCache, keyCount, scale, out, null);
    }

    /**
     * {@link #decodeAttention(Tensor, Tensor, Tensor, Tensor, float, Tensor)} with the query heads
     * outside {@code activeHeads} (null: all run) writing exact zeros, as
     * {@link #attention(Tensor, Tensor, Tensor, AttentionMask, float, Tensor, AttentionCapture, boolean[])};
     * the zeroing is stream work (no host wait), so it records into a CUDA graph.
     */
    public synchronized void decodeAttention(Tensor q, Tensor keyCache, Tensor valueCache, Tensor keyCount, float scale,
                                             Tensor out, boolean[] activeHeads) {
        ctx.bindThread();
        decodeAttention.run(q, keyCache, valueCache, keyCount, scale, out);
        attention.zeroHeads(out, null, activeHeads);
    }

    /**
     * The system property that folds a decode step's RoPE + KV append into the wide decode attention kernel
     * ({@code true}, the default; {@code false}: the two launches): see {@link #ropeAppendKvDecodeAttention}.
     */
    public static final String DECODE_ROPE_ATTENTION_PROPERTY = "glimpse.cuda.decodeRopeAttention";

    /**
     * True unless {@code -Dglimpse.cuda.decodeRopeAttention=false} (read strictly at every call, so an in-process
     * A/B can flip it between captures; blank or unset is true): {@link #ropeAppendKvDecodeAttention} runs one
     * kernel ({@code attention_decode_wide_rope*}, decode_wide.cu) where the wide decode attention kernel runs,
     * instead of {@code rope_append_kv} then the attention: a decode layer's chain one launch shorter, with the
     * same bits. Measured on the H200 (2026-11-29, bundle of 13a739d): DecodeStepBench (24 Qwen2-0.5B layers from
     * one graph, best of 3 each) us per layer off -> on, F32 cache 28.86 -> 28.16 (600 keys), 34.53 -> 32.70
     * (6,300); BF16 cache 29.28 -> 28.53, 34.68 -> 34.98 (1.009x slower); OneVision-0.5B in one JVM (12 rounds):
     * decode ms per token 0.952x, TTFT 1.006x (quartiles 0.997-1.014).
     */
    public static boolean decodeRopeAttentionEnabled() {
        return BooleanProperty.read(DECODE_ROPE_ATTENTION_PROPERTY, true);
    }

    /**
     * {@link #ropeAppendKv}{@code (q, k, v, cos, sin, keyCache, valueCache, length)} then
     * {@link #decodeAttention(Tensor, Tensor, Tensor, Tensor, float, Tensor, boolean[])}{@code (q, keyCache,
     * valueCache, keyCount, scale, out, activeHeads)}: one decode token's rotary embedding, cache append at
     * {@code *length} and attention over the first {@code *keyCount} entries (the appended one among them).
     * Under {@link #decodeRopeAttentionEnabled} and where the wide kernel runs the attention, one launch that
     * writes the same cache entries and the same output bits; q is then left unrotated, so q's contents
     * afterwards are unspecified (rotated or not): callers must not read it.
     */
    public synchronized void ropeAppendKvDecodeAttention(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin,
                                                         Tensor keyCache, Tensor valueCache, Tensor length,
                                                         Tensor keyCount, float scale, Tensor out, boolean[] activeHeads) {
        ctx.bindThread();
        boolean fusedRan = false;
        if (decodeRopeAttentionEnabled()) {
            int half = fused.ropeAppendHalf(q, k, v, cos, sin, keyCache, valueCache, length, "ropeAppendKvDecodeAttention");
            try (Temporaries tmp = new Temporaries(copier)) {
                fusedRan = decodeAttention.runRope(q, k, v, tmp.packed(cos, DType.F32), tmp.packed(sin, DType.F32), half,
                        keyCache, valueCache, length, keyCount, scale, out);
            }
        }
        if (!fusedRan) {
            fused.ropeAppendKv(q, k, v, cos, sin, keyCache, valueCache, length);
            decodeAttention.run(q, keyCache, valueCache, keyCount, scale, out);
        }
        attention.zeroHeads(out, null, activeHeads);
    }

    /**
     * The system property that picks the decode attention kernel: {@code split}, {@code online} or
     * {@code auto} (the default: online for KV caches of 4096+ entries); read at every call.
     */
    public static final String DECODE_ATTENTION_PROPERTY = CudaDecodeAttention.KERNEL_PROPERTY;

    // Fused decode-step ops (decode_fused.cu): fewer launches per decoder layer, same arithmetic.

    /**
     * The persistent decode kernel ({@link CudaPersistentDecode}) for these layers of one decode
     * session, updating {@code x} (F32 [1, hidden]) in place from the rotary rows {@code cos}, {@code sin};
     * null, with a debug log naming why, when they are outside its scope (the caller keeps the
     * per-layer step). The caller closes it with the session.
     */
    public synchronized CudaPersistentDecode persistentDecode(CudaPersistentDecode.Shape shape,
                                                              List<CudaPersistentDecode.Layer> layers, Tensor x,
                                                              Tensor cos, Tensor sin) {
        ctx.bindThread();
        String refusal = CudaPersistentDecode.refusal(ctx, shape, layers, x, cos, sin);
        if (refusal != null) {
            LOG.debug("persistent decode kernel not used: {}", refusal);
            return null;
        }
        try {
            return new CudaPersistentDecode(this, ctx, shape, layers, x, cos, sin);
        } catch (CudaException e) {
            LOG.debug("persistent decode kernel not used: {}", e.getMessage());
            return null;
        }
    }

    /** The system property that turns the fused decode step off ({@code false}) for A/B runs. */
    public static final String FUSED_DECODE_PROPERTY = "glimpse.cuda.fusedDecode";

    /** The fused decode ops (tests: their launch plans). */
    CudaFusedDecode fusedDecode() {
        return fused;
    }

    /** True unless {@code -Dglimpse.cuda.fusedDecode=false}; read at every call, so a benchmark can flip it between sessions. */
    public static boolean fusedDecodeEnabled() {
        return BooleanProperty.read(FUSED_DECODE_PROPERTY, true);
    }

    /**
     * True when the fused decode ops read weight {@code w} [n, k] in one kernel: F16/BF16 on this
     * device, packed 16-byte aligned rows, {@code k % 8 == 0}. With other weights they run the
     * unfused composition, with scratch tensors.
     */
    public synchronized boolean fusesDecodeWeight(Tensor w) {
        return fused.fuses(w);
    }

    // The fused decode ops below read their weights before they wait for the previous kernel when they
    // stage them ({@link WeightStaging}): a weight must not be written by a kernel earlier in the stream
    // that may still run (uploaded weights, the only kind the decoder passes, never are).

    /**
     * {@code linear(rmsNorm(x, gamma, eps), w, bias)} into {@code out}: equals
     * {@link #rmsNorm} into a scratch tensor followed by {@link #linear}, to F32 rounding (the same
     * normed values and the same F32 products and sums; the k split of the GEMV may differ).
     * One launch for at most 8 rows of packed F32 x and a weight {@link #fusesDecodeWeight} accepts.
     */
    public synchronized void rmsNormLinear(Tensor x, Tensor gamma, float eps, Tensor w, Tensor bias, Tensor out) {
        ctx.bindThread();
        fused.rmsNormLinear(x, gamma, eps, List.of(new LinearTarget(w, bias, out)));
    }

    /**
     * {@link #rmsNormLinear(Tensor, Tensor, float, Tensor, Tensor, Tensor)} for up to three weights
     * sharing the normed x (q, k, v): {@link #rmsNorm} once, then {@link #linear} per target, in one
     * launch when every weight fuses and all have one dtype. One k split serves every weight, so a
     * sum can be ordered differently from the separate GEMV's (F32 rounding).
     */
    public synchronized void rmsNormLinear(Tensor x, Tensor gamma, float eps, List<LinearTarget> targets) {
        ctx.bindThread();
        fused.rmsNormLinear(x, gamma, eps, targets);
    }

    /**
     * The gated MLP's input half: equals {@link #rmsNorm} into {@code xn}, {@link #linear}
     * {@code gate = xn wGate^T + gateBias} and {@code up = xn wUp^T + upBias}, then
     * {@link #gatedActivation}{@code (act, gate, up, out)} (out F32, F16 or BF16). Each warp computes
     * matching gate and up features, so gate and up never reach memory. Biases are nullable.
     */
    public synchronized void rmsNormGatedMlpIn(Tensor x, Tensor gamma, float eps, Tensor wGate, Tensor gateBias,
                                               Tensor wUp, Tensor upBias, Activation act, Tensor out) {
        ctx.bindThread();
        fused.rmsNormGatedMlpIn(x, gamma, eps, wGate, gateBias, wUp, upBias, act, out);
    }

    /**
     * {@code out = residual + linear(x, w, bias)}: equals {@link #linear} into a scratch tensor then
     * {@link #add}{@code (residual, projected, out)}, bit for bit on the fused GEMV path (at most 8
     * rows of F32 x: same GEMV split and arithmetic as {@link #linear}'s GEMV, same add). More rows
     * with 16-bit weights add the residual in cuBLASLt's epilogue (beta 1, C the residual: the F32
     * accumulator plus the residual, one rounding as the add's; the product may run another
     * algorithm than {@link #linear}'s, so equal to summation order);
     * {@code -Dglimpse.cuda.ltResidual=false} (or {@code -Dglimpse.cuda.gemmEpilogues=false}, which turns
     * off every GEMM epilogue) keeps the product and a separate add there. x is F32
     * or, beyond 8 rows, of w's 16-bit dtype. {@code out} may be {@code residual} itself (the
     * residual stream updated in place).
     */
    @Override
    public synchronized void linearAddResidual(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        ctx.bindThread();
        fused.linearAddResidual(x, w, bias, residual, out);
    }

    /**
     * One decode token's rotary embedding and cache append: equals {@link #rope}{@code (q, cos, sin, q)},
     * {@link #rope}{@code (k, cos, sin, k)} and {@link #appendKv}{@code (k, v, keyCache, valueCache, length)},
     * except that k itself is not rotated (its rotated values go only to the cache). q [1, Hq, D],
     * k, v [1, Hkv, D], cos, sin [1, R/2], caches [Hkv, capacity, D] (packed, F32, BF16 or F16 as
     * {@link #appendKv}), length I32 [1] on the device.
     */
    public synchronized void ropeAppendKv(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache,
                                          Tensor valueCache, Tensor length) {
        ctx.bindThread();
        fused.ropeAppendKv(q, k, v, cos, sin, keyCache, valueCache, length);
    }

    // Fused prefill ops: fewer launches per decoder layer at small row counts, same values.

    /** The system property that turns the fused prefill ops off ({@code false}; default {@code true}) for A/B runs. */
    public static final String PREFILL_FUSION_PROPERTY = "glimpse.cuda.prefillFusion";

    /**
     * True unless {@code -Dglimpse.cuda.prefillFusion=false} (the default since the H200 measured it, LLaVA-1.5-7B
     * shape TTFT at 64 VTC-CLS tokens 10.18 -> 9.47 ms, OneVision video TTFT 84.4 -> 80.7 ms, 2026-11-28,
     * bench/results/h200-llava-2026-11-28-session6-start.json): a decoder prefill block runs RoPE with
     * its KV cache append in one launch ({@link #ropeAppendKvRows}) and o_proj with the residual in
     * its product ({@link #linearAddResidual}), and {@link #gatedActivation} takes four elements per
     * thread where it can (the same values). Read at every call, so a benchmark can flip it between
     * prefills.
     */
    public static boolean prefillFusionEnabled() {
        return BooleanProperty.read(PREFILL_FUSION_PROPERTY, true);
    }

    /** The system property that runs the vectorised RoPE + KV cache append kernel ({@code true}, the default; {@code false} turns it off). */
    public static final String ROPE_APPEND_VECTOR_PROPERTY = "glimpse.cuda.ropeAppendVector";

    /**
     * True unless {@code -Dglimpse.cuda.ropeAppendVector=false} (read at every call):
     * {@link #ropeAppendKvRows} runs {@code rope_append_kv_rows_vec[_bf16|_f16]} (rows.cu) where the head
     * dim is all rotary, {@code half} a multiple of 4 and the operands 16-byte aligned: the same
     * arithmetic and stores, bit for bit, with 16-byte loads, 4 rotated heads per thread sharing one read
     * of the cos/sin row, and a grid-stride grid of 8 blocks per SM instead of one thread per value
     * (LLaVA-7B at 586 rows: 18,752 blocks, 27.5 us on the H200, ncu, 2026-11-28, for ~48 MB of traffic).
     * PrefillSmallKernelsBench on the H200 (2026-11-29, bundle of 989b4bc), scalar -> vectorised:
     * Llama-7B 26.1 -> 9.7 us at 586 rows, 4.5 -> 2.8 at 74; Qwen2-0.5B 3.7 -> 2.7 at 586 but 1.6 -> 2.5
     * at 74 (its 74-row prefill is not the one that matters: OneVision's is 6,296 rows).
     */
    public static boolean ropeAppendVectorEnabled() {
        return BooleanProperty.read(ROPE_APPEND_VECTOR_PROPERTY, true);
    }

    /** The system property that computes the vision tower's query attention rows in one launch ({@code true}; default {@code false}). */
    public static final String VTC_FUSED_PROPERTY = "glimpse.cuda.vtcFused";

    /**
     * True with {@code -Dglimpse.cuda.vtcFused=true} (read at every call; default off until the H200 has
     * measured it): the vision tower's query attention rows (VTC-CLS's [CLS] row at each tapped layer of a
     * graph-replayed pass, SigLIP's probe row) come from {@link #queryAttentionRow}, one launch per layer,
     * instead of a cuBLAS batched GEMM and a softmax: seven launches fewer in LLaVA-1.5's tapped tower
     * pass. The rows agree with the default's to F32 rounding, not bit for bit. The vision tower's CUDA
     * graphs then also keep their outputs in one allocation, so a replay of the tapped pass hands out its
     * features and seven [CLS] row blocks with one allocation and one copy instead of eight of each (the
     * same bits).
     */
    public static boolean vtcFusedEnabled() {
        return BooleanProperty.read(VTC_FUSED_PROPERTY, false);
    }

    /** The system property that turns the vision tower's lean small passes off ({@code false}; default {@code true}). */
    public static final String TOWER_LEAN_PROPERTY = "glimpse.cuda.towerLean";

    /**
     * True unless {@code -Dglimpse.cuda.towerLean=false} (read at every call): the vision tower's small
     * passes at fewer launches with the same bits. Default on since the H200 measured it
     * (CudaVisionTowerBench in one process, 2026-11-29, bundle of 70a1290,
     * bench/results/h200-kernels-2026-11-29-session9.jsonl): CLIP-L/336 at batch 1 2.006 -> 1.854 ms per
     * pass, SigLIP so400m x 32 frames 49.26 -> 49.59 ms (within that bench's spread); its GPU tests
     * (kernels' and vision-encoder's {@code CudaTowerLeanTest}) passed there bit for bit. The 16-bit
     * attention packs K and V in one launch ({@code attention_mma_pack_kv_<t>_d<D>} instead of two
     * {@code attention_mma_pack_<t>_d<D>}), {@link #activation} takes four elements per thread where sizes
     * and alignment allow ({@code activation_f32_v4}: CLIP's quick_gelu after fc1), and a tower layer of
     * batch 1 (LLaVA-1.5's one image) stores out_proj's 16-bit input from the attention kernel itself
     * ({@link #attentionImagesAsHeads} with one image: no F32 attention rows, no {@code convert_f32}; the
     * vision tower's {@code EncoderBlock} decides that).
     */
    public static boolean towerLeanEnabled() {
        return BooleanProperty.read(TOWER_LEAN_PROPERTY, true);
    }

    /** The system property that keeps fc1's output in F32 before a tower MLP's activation ({@code false}; default {@code true}). */
    public static final String TOWER_MLP16_PROPERTY = "glimpse.cuda.towerMlp16";

    /**
     * True unless {@code -Dglimpse.cuda.towerMlp16=false} (read at every call; default on since the H200
     * measured it: CudaVisionTowerBench in one process, 2026-11-29, bundle of 70a1290, CLIP-L/336 at batch 1
     * 1.854 ms per pass with towerLean -> 1.785 ms with both; {@code CudaTowerMlp16Test} and the LLaVA bf16
     * parity against HF passed there): {@link #linearActivation} of an activation without a cuBLASLt epilogue (CLIP's
     * quick_gelu; gelu_tanh keeps its GELU epilogue) into a 16-bit out of the weights' dtype writes the
     * product rounded to that dtype from cuBLASLt's bias epilogue and activates it in place, eight values
     * per thread. Bytes of a CLIP-L/336 layer's fc1 store and activation pass at 577 tokens: 9.4 MB F32
     * written, read, 4.7 MB written become 4.7 MB written, read and written. The values change: fc1's
     * output is rounded before the activation, as HF's bf16 {@code CLIPMLP} rounds it (the F32 path
     * activates the F32 sum and rounds once); see the vision tower's {@code EncoderBlock}.
     */
    public static boolean towerMlp16Enabled() {
        return BooleanProperty.read(TOWER_MLP16_PROPERTY, true);
    }

    /** The system property that rounds a decoder prefill MLP's gate/up as HF's 16-bit model does (default {@code true}; {@code false}: F32 gate/up). */
    public static final String MLP16_PROPERTY = "glimpse.cuda.mlp16";

    /**
     * True unless {@code -Dglimpse.cuda.mlp16=false} (read at every call, strictly: true or false,
     * {@link BooleanProperty}; default on since the H200 measured
     * it: in one JVM, 2026-11-29, bundle of 97f3baf, LLaVA-1.5-7B TTFT 0.982x at 576 visual tokens and 0.993x
     * at 64 VTC-CLS tokens; {@code CudaMlp16Test} and {@code CudaDecoderMlp16Test}, HF parity included, passed
     * there): a decoder prefill block of more than 8 rows with stacked 16-bit gate/up weights
     * (Llama, Qwen2) has the stacked product write gate and up in the weights' dtype
     * ({@link #linearStackRounded}) and {@link #gatedActivationRounded} apply
     * {@code T(T(act(gate)) * up)} into down_proj's 16-bit input, HF's {@code LlamaMLP}/{@code Qwen2MLP}
     * roundings in bf16/f16, instead of F32 gate and up and one rounding after {@code act(gate) * up}.
     * LLaVA-1.5-7B at 74 rows: the gate/up store and the activation's read fall from 6.5 MB to 3.3 MB
     * each (52 to 26 MB at 586 rows). The values change on purpose (toward HF's); the decode step's fused
     * {@link #rmsNormGatedMlpIn} and the CPU backend keep their F32 arithmetic.
     */
    public static boolean mlp16Enabled() {
        return BooleanProperty.read(MLP16_PROPERTY, true);
    }

    /**
     * A prefill block's rotary embedding and KV cache append in one launch: equals
     * {@link #rope}{@code (q, cos, sin, q)}, {@link #rope}{@code (k, cos, sin, k)} and {@link #copy}
     * of k and v into entries {@code start .. start + T} of a layer's caches, bit for bit, except
     * that k itself is not rotated (its rotated values go only to the cache). q [T, Hq, D], k, v
     * [T, Hkv, D] packed F32, cos, sin [T, R/2], caches [Hkv, capacity, D] (packed, F32, BF16 or
     * F16: 16-bit caches get the values rounded to nearest even, as the copy rounds them).
     */
    public synchronized void ropeAppendKvRows(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache,
                                              Tensor valueCache, int start) {
        ctx.bindThread();
        pointwise.ropeAppendKvRows(q, k, v, cos, sin, keyCache, valueCache, start);
    }

    @Override
    public synchronized void close() {
        gemm.close();
        decodeAttention.close();
        ctx.close();
    }
}
