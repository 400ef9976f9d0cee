package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;

import java.util.Arrays;
import java.util.Locale;

/**
 * The keys and values of one sequence, every layer, allocated once for a fixed capacity.
 *
 * <p>Layout: per layer, {@code [kvHeads, capacity, headDim]} (head-major) of {@link #dtype()}: the
 * model's attention operand type on a GPU, BF16 or F16 for a BF16 or F16 checkpoint (as HF's cache
 * holds the model dtype; appends round to nearest even, readers widen exactly), F32 otherwise
 * except for wide query-head groups ({@link #dtypeFor}; {@code -Dglimpse.kvCache=f32} keeps every model's cache F32). Attention for one
 * query head streams its kv head's keys as one contiguous block, and the view handed to
 * {@link Backend#attention}, {@code [length, kvHeads, headDim]}, has a packed last dim, so the CPU
 * kernel reads the cache in place. Keys are stored after RoPE, as HF's {@code DynamicCache} does.
 *
 * <p>Layers may hold different numbers of entries: after pruning at a layer boundary the layers
 * above it store only the kept tokens (see {@link PruningHook}). Each entry remembers the
 * sequence index of its token (the order in which tokens were appended to the session), so pruning
 * strategies can map keys back to tokens. Not thread-safe: it belongs to one {@link DecoderSession}.
 */
public final class KvCache implements AutoCloseable {

    /** {@code -Dglimpse.kvCache=auto|half|f32}: see {@link #dtypeFor}. */
    public static final String DTYPE_PROPERTY = "glimpse.kvCache";

    private final Tensor[] keys;
    private final Tensor[] values;
    private final int[] length;
    private final int[][] tokens;
    private final int capacity;
    private final DType dtype;
    /** Entries the session using the cache may hold ({@link #limitTo}); at most {@link #capacity}. */
    private int limit;

    KvCache(Backend backend, int layers, int kvHeads, int headDim, int capacity, DType dtype) {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16) {
            throw new IllegalArgumentException("KV cache entries are F32, BF16 or F16, not " + dtype);
        }
        this.capacity = capacity;
        this.limit = capacity;
        this.dtype = dtype;
        this.keys = new Tensor[layers];
        this.values = new Tensor[layers];
        this.length = new int[layers];
        this.tokens = new int[layers][capacity];
        for (int l = 0; l < layers; l++) {
            keys[l] = backend.allocate(dtype, kvHeads, capacity, headDim);
            values[l] = backend.allocate(dtype, kvHeads, capacity, headDim);
        }
    }

    /**
     * Query heads per KV head from which {@code auto} keeps an F32 cache: the 16-bit online decode
     * kernel for groups of 5-8 query heads scores 4 entries per 8-byte load (16-byte loads spill), and
     * on the H200 (DecodeAttentionBench, 2026-11-28, bundle 84d323f) it took Qwen2-0.5B's (14 over 2 heads)
     * decode attention from 9.46 to 10.15 us at 600 keys and from 12.86 to 14.49 us at 6,300, where
     * Llama-7B's (1 per head) went from 11.36 to 9.84 us; such caches are small anyway (few KV heads).
     * The 8-head-group kernel with 16-byte key loads that is now the 16-bit default ({@code passes_early})
     * did not change that: 15.30 us against F32's 12.94 at 6,300 keys (H200, 2026-11-28, commit b71be02,
     * bench/results/h200-kernels-2026-11-28-session6.json), nor did the wide kernel that {@code auto}
     * decode attention now runs on long caches: 13.02 us over BF16 against 10.57 over F32 at 6,300 keys
     * (H200, 2026-11-29, bundle of 989b4bc, bench/results/h200-kernels-2026-11-28-session7.json).
     */
    static final int AUTO_F32_FROM_GROUP = 5;

    /**
     * The entry type for a model whose attention weights are {@code weights}, with
     * {@code queryHeadsPerKvHead} query heads sharing each KV head, on {@code device}. {@code
     * -Dglimpse.kvCache=half} takes BF16 or F16 for BF16 or F16 weights on a GPU ({@link
     * AttentionPrecision#forWeights}: the type its attention rounds K and V to anyway, as HF's cache
     * holds, and half the bytes decode attention streams); {@code auto} (the default) does the same
     * except for groups of {@value #AUTO_F32_FROM_GROUP}+ query heads per KV head, which stay F32 (see
     * {@link #AUTO_F32_FROM_GROUP}); F32 weights and host caches are F32 either way (the CPU backend
     * computes attention in F32 whatever the precision, and its parity reference is HF computing in
     * F32); {@code f32} keeps every cache F32.
     */
    public static DType dtypeFor(Device device, DType weights, int queryHeadsPerKvHead) {
        String mode = System.getProperty(DTYPE_PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        DType half = device.isHost() ? DType.F32 : switch (AttentionPrecision.forWeights(weights)) {
            case BF16 -> DType.BF16;
            case F16 -> DType.F16;
            case F32 -> DType.F32;
        };
        return switch (mode) {
            case "auto" -> queryHeadsPerKvHead >= AUTO_F32_FROM_GROUP ? DType.F32 : half;
            case "half" -> half;
            case "f32" -> DType.F32;
            default -> throw new IllegalArgumentException("-D" + DTYPE_PROPERTY + " must be auto, half or f32, got '"
                    + System.getProperty(DTYPE_PROPERTY) + "'");
        };
    }

    /** The type of the stored keys and values: F32, BF16 or F16. */
    public DType dtype() {
        return dtype;
    }

    public int layers() {
        return keys.length;
    }

    /**
     * Entries allocated per layer: the session's {@link #limit()} rounded up to a capacity bucket
     * ({@link CapacityBuckets}), or exactly it. The entries past the limit are written only by padded
     * prefill rows ({@link PrefillPadding}), which no reader looks at.
     */
    public int capacity() {
        return capacity;
    }

    /**
     * Entries the session may hold ({@link SessionOptions#maxSequenceLength}): what {@link #remaining}
     * counts down, so a session is full where it asked to be whatever capacity bucket it got.
     */
    public int limit() {
        return limit;
    }

    /** Sets the {@link #limit()} of the session taking this cache, at most {@link #capacity()} entries. */
    void limitTo(int entries) {
        if (entries < 1 || entries > capacity) {
            throw new IllegalArgumentException("a KV cache of " + capacity + " entries cannot hold a session limit of "
                    + entries);
        }
        limit = entries;
    }

    /** Entries stored for {@code layer}. */
    public int length(int layer) {
        return length[layer];
    }

    /** Entries of every layer. */
    public int[] lengths() {
        return length.clone();
    }

    /** Sequence indices of the tokens whose keys {@code layer} holds, in cache order. */
    public int[] tokens(int layer) {
        return Arrays.copyOf(tokens[layer], length[layer]);
    }

    /** {@code [entries, kvHeads, headDim]} view of the first {@code entries} keys of {@code layer}. */
    public Tensor keys(int layer, int entries) {
        return keys[layer].slice(1, 0, entries).transpose(0, 1);
    }

    /** {@code [entries, kvHeads, headDim]} view of the first {@code entries} values of {@code layer}. */
    public Tensor values(int layer, int entries) {
        return values[layer].slice(1, 0, entries).transpose(0, 1);
    }

    /**
     * Appends {@code k}, {@code v} [n, kvHeads, headDim] to {@code layer}, rounded to {@link #dtype()}
     * (nearest even); {@code tokenIndices[from .. from + n)} are their sequence indices.
     */
    void append(Backend backend, int layer, Tensor k, Tensor v, int[] tokenIndices, int from) {
        int n = k.dim(0);
        int start = reserve(layer, n);
        backend.copy(k, keys[layer].slice(1, start, start + n).transpose(0, 1));
        backend.copy(v, values[layer].slice(1, start, start + n).transpose(0, 1));
        record(layer, tokenIndices, from, n);
    }

    /**
     * Rotates {@code q} [n, heads, headDim] in place and appends {@code k} rotated and {@code v}
     * [n, kvHeads, headDim] to {@code layer} in one launch ({@link CudaBackend#ropeAppendKvRows}):
     * the entries {@link Backend#rope} of q and k followed by {@link #append} store, while
     * {@code k} itself stays unrotated. {@code cos}, {@code sin} [n, R/2] are the tokens' rotary
     * tables; {@code tokenIndices[from .. from + n)} their sequence indices.
     */
    void appendRotating(CudaBackend backend, int layer, Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin,
                        int[] tokenIndices, int from) {
        int n = k.dim(0);
        int start = reserve(layer, n);
        backend.ropeAppendKvRows(q, k, v, cos, sin, keys[layer], values[layer], start);
        record(layer, tokenIndices, from, n);
    }

    /**
     * {@link #appendRotating} and the causal attention of the rotated q over every entry of {@code layer}
     * (scaled by {@code scale}, at {@code precision}) into the 16-bit {@code out} [n, heads, headDim], in one
     * launch where {@link CudaBackend#ropeAppendAttention} takes the block: the same entries, bookkeeping and
     * output bits as {@link #appendRotating} followed by {@link CudaBackend#attentionHalfOutput}, but q is left
     * unrotated. False, with nothing appended or recorded, where it declines.
     */
    boolean appendRotatingAttention(CudaBackend backend, int layer, Tensor q, Tensor k, Tensor v, Tensor cos,
                                    Tensor sin, int[] tokenIndices, int from, float scale, Tensor out,
                                    AttentionPrecision precision) {
        int n = k.dim(0);
        int start = reserve(layer, n);
        if (!backend.ropeAppendAttention(q, k, v, cos, sin, keys[layer], values[layer], start, scale, out, precision)) {
            return false;
        }
        record(layer, tokenIndices, from, n);
        return true;
    }

    /**
     * The first free entry of {@code layer}, after checking that {@code n} more fit in the allocated
     * {@link #capacity()} (a padded prefill writes past the {@link #limit()}; sessions check their
     * appends against the limit before they queue them).
     */
    private int reserve(int layer, int n) {
        int start = length[layer];
        if (start + n > capacity) {
            throw new IllegalStateException("KV cache of layer " + layer + " is full: " + start + " + " + n
                    + " tokens exceed the session's capacity of " + capacity
                    + " (raise maxSequenceLength in SessionOptions)");
        }
        return start;
    }

    /** Notes {@code n} entries appended to {@code layer}, of sequence indices {@code tokenIndices[from .. from + n)}. */
    private void record(int layer, int[] tokenIndices, int from, int n) {
        int start = length[layer];
        System.arraycopy(tokenIndices, from, tokens[layer], start, n);
        length[layer] = start + n;
    }

    /** The whole key block of {@code layer}, [kvHeads, capacity, headDim] of {@link #dtype()} (device-indexed appends). */
    Tensor keyBlock(int layer) {
        return keys[layer];
    }

    /** The whole value block of {@code layer}, [kvHeads, capacity, headDim] of {@link #dtype()}. */
    Tensor valueBlock(int layer) {
        return values[layer];
    }

    /**
     * Records that a kernel wrote the entry of token {@code tokenIndex} at the end of {@code layer}
     * (a replayed decode step appends on the device; this keeps the host's lengths and tokens).
     */
    void recordAppended(int layer, int tokenIndex) {
        if (length[layer] >= capacity) {
            throw new IllegalStateException("KV cache of layer " + layer + " is full: " + capacity + " entries");
        }
        tokens[layer][length[layer]++] = tokenIndex;
    }

    /**
     * Records {@code n} entries that a replayed prefill graph appended to the end of {@code layer},
     * of sequence indices {@code tokenIndices[from .. from + n)} (the host's lengths and tokens, as
     * {@link #append} keeps them).
     */
    void recordAppended(int layer, int[] tokenIndices, int from, int n) {
        reserve(layer, n);
        record(layer, tokenIndices, from, n);
    }

    /**
     * Sets every layer's length back to {@code lengths} (from {@link #lengths()}): undoes the host
     * bookkeeping of appends that were queued into a failed graph capture and so never ran.
     */
    void restoreLengths(int[] lengths) {
        if (lengths.length != length.length) {
            throw new IllegalArgumentException(lengths.length + " lengths for " + length.length + " layers");
        }
        System.arraycopy(lengths, 0, length, 0, lengths.length);
    }

    /**
     * Empties every layer for a new sequence ({@link SessionBufferPool}): lengths back to 0; the
     * stored entries stay but are never read, every reader stops at a layer's length.
     */
    void clear() {
        Arrays.fill(length, 0);
    }

    /** Room left in the fullest layer, up to the session's {@link #limit()}. */
    public int remaining() {
        return limit - Arrays.stream(length).max().orElse(0);
    }

    @Override
    public void close() {
        for (int l = 0; l < keys.length; l++) {
            keys[l].close();
            values[l].close();
        }
    }
}
