package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.cudart.CUfunc_st;
import org.bytedeco.cuda.global.cudart;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The decode step's decoder layers as ONE persistent kernel ({@code decode_persistent.cu}): every
 * layer's RMSNorm + q/k/v GEMV, RoPE + KV-cache append + attention (each query head's chunks merged,
 * once its kv head's last chunk is counted, by one of the blocks that computed them), o_proj +
 * residual, RMSNorm + gate/up + activation and down_proj + residual run in one launch of exactly
 * as many blocks as fit on the device at once, the phases separated by a grid barrier in device
 * memory instead of kernel boundaries (a decode step of a small decoder is bound by the latency of
 * its ~6 launches per layer, not by HBM). Batch 1, F16/BF16 weights with packed rows, Llama/Qwen2
 * blocks (biases optional), an F32 or model-dtype KV cache, full head sets (no pruned heads), one
 * rotary table for every layer; {@link #refusal} names what is outside that.
 *
 * <p>An instance belongs to one decode session: it holds the device table of the layers'
 * addresses, its scratch (q, k, v, the attention chunks' partial sums, the residual stream, the
 * activated MLP input) and the barrier state, and {@link #enqueue} queues the launch (capturable;
 * the barrier returns to its initial state at the end of every launch, so graph replays need no
 * reset). Same arithmetic as the fused step in F32, other summation orders: results agree to F32
 * rounding, not bit for bit. A launch whose blocks wait at a barrier for more than 2 s gives up
 * instead of hanging the stream ({@link #aborted}). Selected by {@code -Dglimpse.cuda.decodeMegakernel=true} (or {@code =wide},
 * the same sums with q/k/v and o_proj over four times the row groups, {@link #PROPERTY}); off by
 * default because on the H200 it is correct but slower than the per-layer graph (Qwen2-0.5B shape, 2026-11-28,
 * commit 1d02a17: 50.5 vs 47.0 us per layer at 600 keys, 62.0 vs 48.3 at 6,300; kernels/src/main/cuda/README.md).
 *
 * <p>With {@code -Dglimpse.cuda.decodeMegakernel.timers=true} (read when an instance is made) it runs
 * the timed kernels of {@code decode_persistent_timed.cu} instead: the same arithmetic, plus every
 * block's start and its arrival at and release from each grid barrier ({@code %globaltimer}), which
 * {@link #phaseTimes} reads back as {@link PersistentPhaseTimes}.
 */
public final class CudaPersistentDecode implements AutoCloseable {

    /**
     * The system property that turns the persistent decode kernel on: {@code true} (the kernels of
     * {@code decode_persistent.cu}), {@code wide} (those of {@code decode_persistent_wide.cu}: one
     * weight row per warp group in q/k/v and o_proj, so four times the row groups, the same bits) or
     * {@code false} (the default).
     */
    public static final String PROPERTY = "glimpse.cuda.decodeMegakernel";

    /**
     * The system property that runs the timed kernels instead ({@code true}; default {@code false}):
     * the same arithmetic, plus each block's barrier arrival and release times, read with {@link #phaseTimes}.
     */
    public static final String TIMERS_PROPERTY = "glimpse.cuda.decodeMegakernel.timers";

    static final String MODULE = "decode_persistent";
    static final String TIMED_MODULE = "decode_persistent_timed";
    static final String WIDE_MODULE = "decode_persistent_wide";

    private static final Logger LOG = LoggerFactory.getLogger(CudaPersistentDecode.class);
    /** PD_THREADS, PD_WARPS, PD_R, PD_PAIRS and PD_CHUNK of decode_persistent.cu. */
    private static final int THREADS = 256;
    private static final int WARPS = THREADS / 32;
    private static final int ROWS_PER_WARP = 4;
    private static final int PAIRS_PER_WARP = 2;
    private static final int CHUNK = 64;
    /** Pointers per LayerTable entry. */
    private static final int LAYER_POINTERS = 20;
    /** sizeof(DecodeParams): 12 pointers, 12 ints, 2 floats, 4 ints. */
    private static final int PARAM_BYTES = 12 * 8 + 12 * 4 + 2 * 4 + 4 * 4;

    /**
     * One decoder layer's tensors as the kernel reads them: the norms' gammas, the projections
     * ([out, in], biases nullable), the layer's KV cache blocks [kvHeads, capacity, headDim] and the
     * device I32 [1] cells of its append slot and key count.
     */
    public record Layer(Tensor inputNorm, Tensor q, Tensor qBias, Tensor k, Tensor kBias, Tensor v, Tensor vBias,
                        Tensor o, Tensor oBias, Tensor postNorm, Tensor gate, Tensor gateBias, Tensor up,
                        Tensor upBias, Tensor down, Tensor downBias, Tensor keyCache, Tensor valueCache,
                        Tensor length, Tensor keyCount) {

        List<Tensor> weights() {
            return List.of(q, k, v, o, gate, up, down);
        }

        List<Tensor> biases() {
            List<Tensor> present = new ArrayList<>();
            for (Tensor b : new Tensor[] {qBias, kBias, vBias, oBias, gateBias, upBias, downBias}) {
                if (b != null) {
                    present.add(b);
                }
            }
            return present;
        }
    }

    /** The decoder's attention shape, norm epsilon and MLP activation. */
    public record Shape(int heads, int kvHeads, int headDim, float eps, Activation activation) {
    }

    private final CudaBackend backend;
    private final CudaContext ctx;
    private final String kernel;
    private final CUfunc_st function;
    private final int grid;
    private final int sharedBytes;
    private final List<Tensor> owned = new ArrayList<>();
    private final Arena arena;
    private final MemorySegment params;
    /**
     * The grid barrier's state (decode_persistent.cuh grid_barrier): a 64-bit arrival count in words 0-1,
     * the aborted flag in word 2, then one finished-chunk counter per kv head (attention_phase).
     */
    private final Tensor barrier;
    /** The timed kernel's records (PersistentPhaseTimes layout), or null for the untimed kernel. */
    private final Tensor timers;
    private final int layerCount;

    /** True when {@code -Dglimpse.cuda.decodeMegakernel} is {@code true} or {@code wide}; read when a session captures its step. */
    public static boolean enabled() {
        String value = property();
        return "true".equals(value) || "wide".equals(value);
    }

    /** True when {@code -Dglimpse.cuda.decodeMegakernel=wide}; read when an instance is made. */
    static boolean wide() {
        return "wide".equals(property());
    }

    private static String property() {
        return System.getProperty(PROPERTY, "false").trim().toLowerCase(Locale.ROOT);
    }

    /** True when {@code -Dglimpse.cuda.decodeMegakernel.timers=true}; read when an instance is made. */
    public static boolean timersEnabled() {
        return BooleanProperty.read(TIMERS_PROPERTY, false);
    }

    /**
     * Why these layers cannot run as the persistent kernel on {@code ctx}, or null when they can.
     * x is the F32 [1, hidden] hidden state the step updates in place; cos, sin the F32 [1, R/2] rotary rows.
     */
    static String refusal(CudaContext ctx, Shape shape, List<Layer> layers, Tensor x, Tensor cos, Tensor sin) {
        if (layers.isEmpty()) {
            return "no layers";
        }
        int d = shape.headDim();
        if (d != 64 && d != 128) {
            return "head dim " + d + " (64 or 128 only)";
        }
        if (shape.kvHeads() <= 0 || shape.heads() % shape.kvHeads() != 0) {
            return shape.heads() + " query heads over " + shape.kvHeads() + " kv heads";
        }
        if (x.dtype() != DType.F32 || x.rank() != 2 || x.dim(0) != 1 || !Checks.contiguous(x) || CudaContext.address(x) % 16 != 0) {
            return "hidden state " + x + " (packed, 16-byte aligned F32 [1, hidden] only)";
        }
        int hidden = x.dim(1);
        int qWidth = shape.heads() * d;
        int kvWidth = shape.kvHeads() * d;
        Layer first = layers.get(0);
        DType wType = first.q().dtype();
        if (wType != DType.BF16 && wType != DType.F16) {
            return "weights of " + wType + " (F16/BF16 only)";
        }
        int inter = first.gate().dim(0);
        if (hidden % 8 != 0 || inter % 8 != 0) {
            return "hidden " + hidden + " or intermediate " + inter + " not a multiple of 8";
        }
        if (cos.dtype() != DType.F32 || cos.rank() != 2 || cos.dim(0) != 1 || 2 * cos.dim(1) > d || !Checks.contiguous(cos)
                || !cos.sameShape(sin) || !Checks.contiguous(sin)) {
            return "rotary rows " + cos + " / " + sin;
        }
        DType cacheType = first.keyCache().dtype();
        if (cacheType != DType.F32 && cacheType != wType) {
            return "a " + cacheType + " KV cache under " + wType + " weights";
        }
        DType biasType = null;
        for (Layer l : layers) {
            String shapes = shapeRefusal(l, hidden, qWidth, kvWidth, inter);
            if (shapes != null) {
                return shapes;
            }
            for (Tensor w : l.weights()) {
                if (w.dtype() != wType || !w.device().equals(ctx.device) || !packedRows(w)) {
                    return "weight " + w + " (packed, 16-byte aligned " + wType + " rows only)";
                }
            }
            for (Tensor b : l.biases()) {
                biasType = biasType == null ? b.dtype() : biasType;
                if (b.dtype() != biasType || !Checks.contiguous(b) || !b.device().equals(ctx.device)) {
                    return "bias " + b + " (packed, one dtype for all)";
                }
            }
            for (Tensor g : List.of(l.inputNorm(), l.postNorm())) {
                if (g.dtype() != first.inputNorm().dtype() || !Checks.contiguous(g) || g.rank() != 1 || g.dim(0) != hidden) {
                    return "norm weight " + g;
                }
            }
            for (Tensor c : List.of(l.keyCache(), l.valueCache())) {
                if (c.dtype() != cacheType || !Checks.contiguous(c) || c.rank() != 3 || c.dim(0) != shape.kvHeads()
                        || c.dim(1) != first.keyCache().dim(1) || c.dim(2) != d) {
                    return "KV cache block " + c;
                }
            }
        }
        return null;
    }

    private static String shapeRefusal(Layer l, int hidden, int qWidth, int kvWidth, int inter) {
        boolean ok = is(l.q(), qWidth, hidden) && is(l.k(), kvWidth, hidden) && is(l.v(), kvWidth, hidden)
                && is(l.o(), hidden, qWidth) && is(l.gate(), inter, hidden) && is(l.up(), inter, hidden)
                && is(l.down(), hidden, inter);
        return ok ? null : "projection shapes q " + l.q() + ", o " + l.o() + ", gate " + l.gate() + ", down " + l.down();
    }

    private static boolean is(Tensor w, int rows, int cols) {
        return w.rank() == 2 && w.dim(0) == rows && w.dim(1) == cols;
    }

    private static boolean packedRows(Tensor w) {
        return Checks.contiguous(w) && CudaContext.address(w) % 16 == 0;
    }

    CudaPersistentDecode(CudaBackend backend, CudaContext ctx, Shape shape, List<Layer> layers, Tensor x, Tensor cos,
                         Tensor sin) {
        this.backend = backend;
        this.ctx = ctx;
        Layer first = layers.get(0);
        int d = shape.headDim();
        int hidden = x.dim(1);
        int inter = first.gate().dim(0);
        int qWidth = shape.heads() * d;
        int kvWidth = shape.kvHeads() * d;
        int capacity = first.keyCache().dim(1);
        int maxChunks = (capacity + CHUNK - 1) / CHUNK;
        int group = shape.heads() / shape.kvHeads();
        String weights = first.q().dtype() == DType.BF16 ? "bf16" : "f16";
        String cache = switch (first.keyCache().dtype()) {
            case BF16 -> "bf16";
            case F16 -> "f16";
            default -> "f32";
        };
        boolean timed = timersEnabled();
        boolean wide = wide();
        this.kernel = "decode_layers_" + (wide ? "wide_" : "") + weights + "_kv_" + cache + (timed ? "_timed" : "");
        this.layerCount = layers.size();
        int stageFloats = Math.max(Math.max(2 * hidden, qWidth), inter);
        int attentionFloats = CHUNK * (d + 4) + CHUNK * d + group * d + WARPS * CHUNK;
        int mergeFloats = ((2 * maxChunks + 1 + 3) & ~3) + 4 * THREADS;
        this.sharedBytes = Math.max(Math.max(stageFloats, attentionFloats), mergeFloats) * Float.BYTES;
        if (sharedBytes > ctx.kernels.maxDynamicSharedBytes()) {
            throw new CudaException(kernel + ": needs " + sharedBytes + " bytes of shared memory, the device allows "
                    + ctx.kernels.maxDynamicSharedBytes());
        }
        this.function = ctx.kernels.largeSharedFunction(wide ? WIDE_MODULE : timed ? TIMED_MODULE : MODULE, kernel);
        int[] perSm = new int[1];
        Cuda.checkDriver(cudart.cuOccupancyMaxActiveBlocksPerMultiprocessor(perSm, function, THREADS, sharedBytes),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + kernel + ")");
        if (perSm[0] < 1) {
            throw new CudaException(kernel + ": no block fits on a multiprocessor with " + sharedBytes + " shared bytes");
        }
        this.grid = perSm[0] * ctx.multiprocessors;
        Tensor residual = own(DType.F32, hidden);
        Tensor q = own(DType.F32, qWidth);
        Tensor k = own(DType.F32, kvWidth);
        Tensor v = own(DType.F32, kvWidth);
        Tensor attn = own(DType.F32, qWidth);
        Tensor act = own(DType.F32, inter);
        Tensor partials = own(DType.F32, shape.heads() * maxChunks * (d + 2));
        try (Tensor zeros = Tensor.ofInts(new int[3 + shape.kvHeads()], 3 + shape.kvHeads())) {
            this.barrier = backend.upload(zeros);
        }
        owned.add(barrier);
        this.timers = timed ? own(DType.I64, Math.toIntExact(PersistentPhaseTimes.longs(grid, layers.size()))) : null;
        Tensor table = uploadTable(layers);
        DType biasType = layers.stream().flatMap(l -> l.biases().stream()).map(Tensor::dtype).findFirst().orElse(DType.F32);
        this.arena = Arena.ofShared();
        this.params = arena.allocate(PARAM_BYTES, 8);
        long at = 0;
        for (Tensor t : new Tensor[] {table, x, residual, q, k, v, attn, act, partials, barrier, cos, sin}) {
            params.set(ValueLayout.JAVA_LONG, at, CudaContext.address(t));
            at += 8;
        }
        int splitQkv = split(qWidth + 2 * kvWidth, ROWS_PER_WARP, hidden);
        int splitO = split(hidden, ROWS_PER_WARP, qWidth);
        int splitGateUp = split(inter, PAIRS_PER_WARP, hidden);
        int splitDown = split(hidden, ROWS_PER_WARP, inter);
        for (int value : new int[] {layers.size(), hidden, shape.heads(), shape.kvHeads(), d, cos.dim(1), inter, capacity,
                maxChunks, first.inputNorm().dtype().ordinal(), biasType.ordinal(), shape.activation().ordinal()}) {
            params.set(ValueLayout.JAVA_INT, at, value);
            at += 4;
        }
        params.set(ValueLayout.JAVA_FLOAT, at, shape.eps());
        params.set(ValueLayout.JAVA_FLOAT, at + 4, (float) Math.pow(d, -0.5));
        at += 8;
        for (int value : new int[] {splitQkv, splitO, splitGateUp, splitDown}) {
            params.set(ValueLayout.JAVA_INT, at, value);
            at += 4;
        }
        LOG.debug("persistent decode {}: {} layers, grid {} ({} per SM), {} shared bytes, k splits qkv {} o {} gate/up {} down {}",
                kernel, layers.size(), grid, perSm[0], sharedBytes, splitQkv, splitO, splitGateUp, splitDown);
    }

    /** The blocks the kernel runs (all co-resident). */
    public int grid() {
        return grid;
    }

    /** Queues the launch that runs every layer (no host wait; capturable). */
    public void enqueue() {
        synchronized (backend) {
            ctx.bindThread();
            Launch launch = ctx.launch.of(function, kernel).struct(params);
            if (timers != null) {
                launch.ptr(CudaContext.address(timers));
            }
            launch.run(grid, 1, THREADS, sharedBytes);
        }
    }

    /**
     * True when a launch gave up at a grid barrier (a block waited 2 s: the grid was not co-resident
     * or a block faulted) and left its outputs unwritten; reads the flag back, so it waits for the
     * stream. Later launches of this instance then abort too.
     */
    public boolean aborted() {
        try (Tensor state = backend.download(barrier)) {
            return state.toIntArray()[2] != 0;
        }
    }

    /** True when this instance runs the timed kernel ({@link #TIMERS_PROPERTY} was on when it was made). */
    public boolean timed() {
        return timers != null;
    }

    /**
     * The phase times the last launch recorded (waits for the stream). Meaningful after an eager
     * launch that did not abort; a graph replayed several times keeps only its last launch's.
     *
     * @throws IllegalStateException when this instance runs the untimed kernel
     */
    public PersistentPhaseTimes phaseTimes() {
        if (timers == null) {
            throw new IllegalStateException(kernel + " records no phase times: set -D" + TIMERS_PROPERTY
                    + "=true before the persistent decode kernel is made");
        }
        try (Tensor host = backend.download(timers)) {
            return PersistentPhaseTimes.of(host.segment().toArray(ValueLayout.JAVA_LONG), grid, layerCount);
        }
    }

    private Tensor own(DType dtype, int n) {
        Tensor t = backend.allocate(dtype, n);
        owned.add(t);
        return t;
    }

    /** The LayerTable array of decode_persistent.cu, uploaded. */
    private Tensor uploadTable(List<Layer> layers) {
        try (Arena host = Arena.ofConfined()) {
            Tensor entries = Tensor.allocate(host, DType.I64, layers.size() * LAYER_POINTERS);
            long at = 0;
            for (Layer l : layers) {
                for (Tensor t : new Tensor[] {l.inputNorm(), l.postNorm(), l.q(), l.k(), l.v(), l.qBias(), l.kBias(),
                        l.vBias(), l.o(), l.oBias(), l.gate(), l.gateBias(), l.up(), l.upBias(), l.down(), l.downBias(),
                        l.keyCache(), l.valueCache(), l.length(), l.keyCount()}) {
                    entries.segment().set(ValueLayout.JAVA_LONG, at, t == null ? 0L : CudaContext.address(t));
                    at += 8;
                }
            }
            Tensor table = backend.upload(entries);
            owned.add(table);
            return table;
        }
    }

    /**
     * The k split of a GEMV phase over n features (rowsPerWarp each per warp group) and k inputs: the
     * one (1, 2, 4 or 8 warps per group, each keeping at least 32 of the k / 8 16-byte chunks) whose
     * busiest block takes the fewest dependent load steps, ceil(groups / grid) groups of
     * ceil(ceil(chunks / 64) / split) steps each (every lane loads 2 chunks per row and step), the
     * smaller split on ties. Qwen2-0.5B on 264 blocks: q/k/v and o_proj 2, down 8, gate/up 2 (608
     * groups of 8 features: 3 steps for the busiest block instead of 4 with 304 groups of 16). The
     * wide kernels take the same splits (counted with 4-row groups), so each row is summed as in the others.
     */
    private int split(int n, int rowsPerWarp, int k) {
        int chunks = k / 8;
        int best = 1;
        long bestSteps = Long.MAX_VALUE;
        for (int split = 1; split <= WARPS && chunks >= split * 32; split *= 2) {
            long steps = ceilDiv(groups(n, rowsPerWarp, split), grid) * ceilDiv(ceilDiv(chunks, 64), split);
            if (steps < bestSteps) {
                best = split;
                bestSteps = steps;
            }
        }
        return best;
    }

    private static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    private static long groups(int n, int rowsPerWarp, int split) {
        long perBlock = (long) rowsPerWarp * (WARPS / split);
        return (n + perBlock - 1) / perBlock;
    }

    @Override
    public void close() {
        synchronized (backend) {
            ctx.bindThread();
            for (Tensor t : owned) {
                t.close();
            }
            owned.clear();
        }
        arena.close();
    }
}
