package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;

import java.util.Locale;

/**
 * How online flash-decoding ({@code attention_decode_online*} in decode.cu) covers one layer's
 * caches [Hkv, capacity, D] for Hq query heads: each kv head's group of query heads is taken by
 * {@link #headBlocks()} blocks of up to {@value FlashDecodePlan#MAX_HEADS_PER_BLOCK} heads (as
 * {@link FlashDecodePlan}), scored together as {@link #paddedHeads()} heads (the kernel's HP, a power
 * of two: its register tiles and lane shuffles are sized at compile time), and the keys by
 * {@link #splits()} blocks. Each block's warps walk 32-key tiles with a running softmax, so a split
 * has no score buffer and no largest chunk: the kernel spreads the key count read at run time over
 * the splits in multiples of {@value #GRAIN} keys (one tile per warp). The plan depends on the
 * capacity and shape only, so one captured graph serves every key count.
 *
 * <p>Splits: by default about {@value #BLOCKS_PER_SM} block per multiprocessor over all head groups,
 * and no more than chunks of {@value #FULL_CHUNK} keys of a full cache (two tiles per warp), so a
 * long context leaves few splits for the last block's merge (the fused kernel merges one split per
 * 64 keys). {@code -Dglimpse.cuda.decodeOnlineGrid=<blocks per SM>x<keys per split of a full cache>}
 * (default {@code 1x256}, read at every call) changes both, for tuning on a GPU
 * ({@code DecodeAttentionBench} sweeps it).
 */
record OnlineDecodePlan(int headsPerBlock, int headBlocks, int paddedHeads, int splits) {

    /** The system property that sets the grid's target ({@code <blocks per SM>x<full-cache chunk>}). */
    static final String GRID_PROPERTY = "glimpse.cuda.decodeOnlineGrid";
    /** Keys per warp tile times warps per block (ONL_GRAIN): the granularity of a split's chunk. */
    static final int GRAIN = 128;
    /** A full cache's keys per split at the most splits, by default. */
    static final int FULL_CHUNK = 2 * GRAIN;
    /** The largest head dim the kernel's shared buffers hold (ONL_MAX_DIM). */
    static final int MAX_HEAD_DIM = 128;
    /** Blocks per multiprocessor the splits aim for, by default. */
    static final int BLOCKS_PER_SM = 1;

    /** The plan with the configured grid target ({@link #GRID_PROPERTY}). */
    static OnlineDecodePlan of(int hq, int hkv, int capacity, int multiprocessors) {
        int[] grid = configuredGrid();
        return of(hq, hkv, capacity, multiprocessors, grid[0], grid[1]);
    }

    /**
     * The plan for about {@code blocksPerSm} blocks per multiprocessor and at most one split per
     * {@code fullChunk} keys of a full cache.
     */
    static OnlineDecodePlan of(int hq, int hkv, int capacity, int multiprocessors, int blocksPerSm, int fullChunk) {
        int group = hq / hkv;
        int headsPerBlock = ceilDiv(group, ceilDiv(group, FlashDecodePlan.MAX_HEADS_PER_BLOCK));
        int headBlocks = ceilDiv(group, headsPerBlock);
        int padded = Integer.highestOneBit(headsPerBlock);
        if (padded < headsPerBlock) {
            padded *= 2;
        }
        int useful = Math.max(1, ceilDiv(capacity, fullChunk));
        int fill = Math.max(1, ceilDiv(blocksPerSm * multiprocessors, hkv * headBlocks));
        return new OnlineDecodePlan(headsPerBlock, headBlocks, padded, Math.min(useful, fill));
    }

    /** (blocks per SM, full-cache chunk) from {@link #GRID_PROPERTY}; the defaults when it is unset or blank. */
    static int[] configuredGrid() {
        String value = System.getProperty(GRID_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (value.isEmpty()) {
            return new int[] {BLOCKS_PER_SM, FULL_CHUNK};
        }
        String[] parts = value.split("x");
        int blocks = parts.length == 2 ? positiveInt(parts[0]) : 0;
        int chunk = parts.length == 2 ? positiveInt(parts[1]) : 0;
        if (blocks >= 1 && blocks <= 64 && chunk >= GRAIN && chunk % GRAIN == 0) {
            return new int[] {blocks, chunk};
        }
        throw new TensorException("-D" + GRID_PROPERTY + "=" + value + " is not <blocks per SM 1..64>x<keys per "
                + "split, a multiple of " + GRAIN + ">, e.g. " + BLOCKS_PER_SM + "x" + FULL_CHUNK);
    }

    /** True when the kernel takes heads of dim {@code d} (its shared buffers hold {@value #MAX_HEAD_DIM} columns). */
    static boolean supports(int d) {
        return d <= MAX_HEAD_DIM;
    }

    /** {@link #kernel(DType, boolean, OnlineDecode16)} with the {@link OnlineDecode16#CURRENT} kernels. */
    String kernel(DType cache, boolean vector) {
        return kernel(cache, vector, OnlineDecode16.CURRENT);
    }

    /**
     * The kernel for this plan over caches of {@code cache}'s type: {@code attention_decode_online[_vec4]_h<paddedHeads>}
     * for F32, {@code attention_decode_online_<bf16|f16>[_vec8]_h<paddedHeads>[_passes|_passes_early]} for
     * 16-bit entries (the suffix of {@code online16} where it has such a kernel, {@link OnlineDecode16#suffix});
     * {@code vector}: the 16-byte-load variant (dim a multiple of 4 or 8, 16-byte aligned q and caches).
     */
    String kernel(DType cache, boolean vector, OnlineDecode16 online16) {
        String vec = !vector ? "" : cache == DType.F32 ? "_vec4" : "_vec8";
        String type = switch (cache) {
            case BF16 -> "_bf16";
            case F16 -> "_f16";
            default -> "";
        };
        return "attention_decode_online" + type + vec + "_h" + paddedHeads + online16.suffix(cache, vector, paddedHeads);
    }

    /** Workspace floats: partial sums [Hq, splits, D], then (max, sum) pairs [Hq, splits, 2]. */
    long workspaceFloats(int hq, int d) {
        return (long) hq * splits * (d + 2);
    }

    /** The decimal value of s, or 0 when s is not a positive int (also {@link WideDecodePlan}'s grid parser). */
    static int positiveInt(String s) {
        String t = s.trim();
        if (t.isEmpty() || t.length() > 9 || !t.chars().allMatch(Character::isDigit)) {
            return 0;
        }
        return Integer.parseInt(t);
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
