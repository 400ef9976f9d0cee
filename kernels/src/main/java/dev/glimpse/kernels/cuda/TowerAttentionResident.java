package dev.glimpse.kernels.cuda;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Whether a vision tower's images-as-heads attention ({@link CudaBackend#attentionImagesAsHeads}) keeps each head's
 * whole K and V resident in shared memory ({@code attention_mma_images_resident_<t>_d64_q5s<KSPLIT>[p2]},
 * attention_mma.cu), chosen with {@code -Dglimpse.cuda.towerAttentionResident=off|s2|s3|s2p2|s3p2} (read at every call,
 * default {@code off}: the tiled kernels of {@link AttentionSmallGrid}'s choice). The tiled kernels stream the keys
 * through two small buffers, a barrier per round of key tiles: one CLIP-L/336 image (577 tokens, 16 heads of 64) is
 * 304 {@code w2s2} blocks, latency-bound (17.6 us per layer on the H200, about 77 TFLOP/s, CUPTI, 2026-11-29). The
 * resident kernel runs one block per 80 query rows of a head (5 query warps: 128 blocks, one wave on 132 SMs) that
 * copies all of the head's K and V (184 KB at 577 keys) with cp.async, one commit group per round of key tiles,
 * so its warps wait once per round for keys that are already streaming and never for a buffer to free:
 * <ul>
 *   <li>{@code s2}: 2 key-split warps per query warp (10 warps), the tile order and merge of {@code w2s2}, so the
 *       same bits as {@code w2s2};</li>
 *   <li>{@code s3}: 3 key-split warps per query warp (15 warps, at most 128 registers, no spills), the partials
 *       merged in group order (another summation order);</li>
 *   <li>{@code s2p2}, {@code s3p2}: the same with each round's copies issued two rounds ahead of its use instead of
 *       all up front (where queuing all 9,000 copies first would hold the warps at the issue until the last is
 *       queued); the same bits as {@code s2} and {@code s3}.</li>
 * </ul>
 * It applies at padded head dim 64 (CLIP; SigLIP's 729 keys of dim 72 padded to 80 would need 253 KB) where the
 * head's keys fit the device's dynamic shared memory (at most 768 keys on an H200); elsewhere the tiled kernels run.
 * Not yet measured on a GPU.
 */
public enum TowerAttentionResident {

    /** The tiled kernels (today's path). */
    OFF("off", 0, 0),
    /** 5 query warps with 2 key-split warps each, every copy issued up front. */
    KEY_SPLIT_2("s2", 2, 0),
    /** 5 query warps with 3 key-split warps each, every copy issued up front. */
    KEY_SPLIT_3("s3", 3, 0),
    /** {@link #KEY_SPLIT_2} with each round's copies issued two rounds ahead. */
    KEY_SPLIT_2_AHEAD("s2p2", 2, 2),
    /** {@link #KEY_SPLIT_3} with each round's copies issued two rounds ahead. */
    KEY_SPLIT_3_AHEAD("s3p2", 3, 2);

    /** The system property that picks the choice. */
    public static final String PROPERTY = "glimpse.cuda.towerAttentionResident";

    /** 16-query warps per block: 80 rows, ceil(577 / 80) = 8 blocks per head, 128 for one CLIP image. */
    static final int QUERY_WARPS = 5;

    /** The padded head dim the kernel is compiled for. */
    static final int HEAD_DIM = 64;

    private final String id;
    private final int keySplit;
    /** Rounds of key tiles whose copies are in flight ahead of the round in use; 0: all issued up front. */
    private final int ahead;

    TowerAttentionResident(String id, int keySplit, int ahead) {
        this.id = id;
        this.keySplit = keySplit;
        this.ahead = ahead;
    }

    /** The name the property takes, e.g. "s2". */
    public String id() {
        return id;
    }

    /** Key-split warps per query warp (0 for {@link #OFF}). */
    int keySplit() {
        return keySplit;
    }

    /** Threads per block. */
    int threads() {
        return QUERY_WARPS * keySplit * 32;
    }

    /** Queries per block. */
    int queriesPerBlock() {
        return QUERY_WARPS * 16;
    }

    /** The kernel's name at 16-bit type {@code type} ("bf16" or "f16"). */
    String kernel(String type) {
        return "attention_mma_images_resident_" + type + "_d" + HEAD_DIM + "_q" + QUERY_WARPS + "s" + keySplit
                + (ahead > 0 ? "p" + ahead : "");
    }

    /**
     * Dynamic shared memory of a block over {@code keys} keys: the K and V tiles of all key tiles ([64][DP + 8]
     * 16-bit values each) or, when larger, the key-split partials merge_key_groups stores over them
     * ((KSPLIT - 1) groups x (4 DP / 8 + 4) F32 values x the query warps' threads).
     */
    long sharedBytes(int keys) {
        long tiles = (keys + 63L) / 64;
        long keysValues = 2 * tiles * 64 * (HEAD_DIM + 8) * 2;
        long partials = (long) (keySplit - 1) * (4 * (HEAD_DIM / 8) + 4) * QUERY_WARPS * 32 * Float.BYTES;
        return Math.max(keysValues, partials);
    }

    /** The choice the property names now, {@link #OFF} when it is unset or blank. */
    public static TowerAttentionResident configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The choice called {@code id} (case-insensitive); {@link #OFF} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static TowerAttentionResident parse(String id) {
        if (id == null || id.isBlank()) {
            return OFF;
        }
        String wanted = id.trim().toLowerCase(Locale.ROOT);
        for (TowerAttentionResident r : values()) {
            if (r.id.equals(wanted)) {
                return r;
            }
        }
        throw new CudaException("-D" + PROPERTY + "=" + id + " names no resident tower attention;"
                + " known: " + Arrays.stream(values()).map(TowerAttentionResident::id).collect(Collectors.joining(", ")));
    }
}
