package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;

import java.util.Locale;

/**
 * How wide flash-decoding ({@code attention_decode_wide*} in decode_wide.cu,
 * {@code -Dglimpse.cuda.decodeAttention=wide}) covers one layer's caches [Hkv, capacity, D] for Hq
 * query heads: each kv head's group of query heads is taken by {@link #headBlocks()} blocks of up to
 * {@value FlashDecodePlan#MAX_HEADS_PER_BLOCK} heads (as {@link OnlineDecodePlan}), scored together as
 * {@link #paddedHeads()} heads (the kernel's HP), and the keys by {@link #splits()} blocks of
 * {@value #THREADS} threads. The kernel spreads the key count read at run time over the splits in
 * whole tiles (64 keys at D 64, 32 at D 128), so one captured graph serves every count.
 *
 * <p>Splits: by default about {@value #BLOCKS_PER_SM} block per multiprocessor over all head groups
 * (Qwen2-0.5B, 2 kv heads on 132 SMs: 66 per group, so 50 blocks of 128 keys at 6,300 keys), and no
 * more than one per {@value #FULL_CHUNK} keys of a full cache, nor {@value #MAX_SPLITS} (the last
 * block's merge keeps one weight per split in shared memory).
 * {@code -Dglimpse.cuda.decodeWideGrid=<blocks per SM>x<keys per split of a full cache>} (default
 * {@code 1x64}, read at every call) changes both, for tuning on a GPU ({@code DecodeAttentionBench}
 * sweeps it): more splits shorten each block's walk but lengthen the merge, whose reads grow with
 * splits x heads x D.
 */
record WideDecodePlan(int headsPerBlock, int headBlocks, int paddedHeads, int splits) {

    /** The system property that sets the grid's target ({@code <blocks per SM>x<full-cache chunk>}). */
    static final String GRID_PROPERTY = "glimpse.cuda.decodeWideGrid";
    /** Threads per block (WIDE_THREADS). */
    static final int THREADS = 256;
    /** The most splits the merge takes (WIDE_MAX_SPLITS). */
    static final int MAX_SPLITS = 256;
    /** Blocks per multiprocessor the splits aim for, by default. */
    static final int BLOCKS_PER_SM = 1;
    /** A full cache's keys per split at the most splits, by default. */
    static final int FULL_CHUNK = 64;
    /** The module of the kernels. */
    static final String MODULE = "decode_wide";

    /** The plan with the configured grid target ({@link #GRID_PROPERTY}). */
    static WideDecodePlan of(int hq, int hkv, int capacity, int multiprocessors) {
        int[] grid = configuredGrid();
        return of(hq, hkv, capacity, multiprocessors, grid[0], grid[1]);
    }

    /**
     * The plan for about {@code blocksPerSm} blocks per multiprocessor and at most one split per
     * {@code fullChunk} keys of a full cache (and {@value #MAX_SPLITS}).
     */
    static WideDecodePlan of(int hq, int hkv, int capacity, int multiprocessors, int blocksPerSm, int fullChunk) {
        OnlineDecodePlan heads = OnlineDecodePlan.of(hq, hkv, capacity, multiprocessors, 1, OnlineDecodePlan.GRAIN);
        int useful = Math.max(1, OnlineDecodePlan.ceilDiv(capacity, fullChunk));
        int fill = Math.max(1, OnlineDecodePlan.ceilDiv(blocksPerSm * multiprocessors, hkv * heads.headBlocks()));
        return new WideDecodePlan(heads.headsPerBlock(), heads.headBlocks(), heads.paddedHeads(),
                Math.min(MAX_SPLITS, Math.min(useful, fill)));
    }

    /** (blocks per SM, full-cache chunk) from {@link #GRID_PROPERTY}; the defaults when it is unset or blank. */
    static int[] configuredGrid() {
        String value = System.getProperty(GRID_PROPERTY, "").trim().toLowerCase(Locale.ROOT);
        if (value.isEmpty()) {
            return new int[] {BLOCKS_PER_SM, FULL_CHUNK};
        }
        String[] parts = value.split("x");
        int blocks = parts.length == 2 ? OnlineDecodePlan.positiveInt(parts[0]) : 0;
        int chunk = parts.length == 2 ? OnlineDecodePlan.positiveInt(parts[1]) : 0;
        if (blocks >= 1 && blocks <= 64 && chunk >= 32 && chunk % 32 == 0) {
            return new int[] {blocks, chunk};
        }
        throw new TensorException("-D" + GRID_PROPERTY + "=" + value + " is not <blocks per SM 1..64>x<keys per "
                + "split, a multiple of 32>, e.g. " + BLOCKS_PER_SM + "x" + FULL_CHUNK);
    }

    /**
     * True when the kernels take heads of dim {@code d} (64 or 128, their tiles are sized at compile
     * time) over caches both 16-byte aligned ({@code aligned}: 16-byte key loads).
     */
    static boolean supports(int d, boolean aligned) {
        return aligned && (d == 64 || d == 128);
    }

    /** {@code attention_decode_wide[_bf16|_f16]_d<D>_h<paddedHeads>} for caches of {@code cache}'s type. */
    String kernel(DType cache, int d) {
        return "attention_decode_wide" + suffix(cache, d);
    }

    /**
     * {@code attention_decode_wide_rope[_bf16|_f16]_d<D>_h<paddedHeads>}: the kernel of {@link #kernel} with
     * rope_append_kv's work folded in ({@code -Dglimpse.cuda.decodeRopeAttention=true}).
     */
    String ropeKernel(DType cache, int d) {
        return "attention_decode_wide_rope" + suffix(cache, d);
    }

    private String suffix(DType cache, int d) {
        String type = switch (cache) {
            case BF16 -> "_bf16";
            case F16 -> "_f16";
            default -> "";
        };
        return type + "_d" + d + "_h" + paddedHeads;
    }

    /** Workspace floats: partial sums [Hq, splits, D], then (max, sum) pairs [Hq, splits, 2]. */
    long workspaceFloats(int hq, int d) {
        return (long) hq * splits * (d + 2);
    }
}
