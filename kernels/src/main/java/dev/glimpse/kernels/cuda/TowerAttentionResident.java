package dev.glimpse.kernels.cuda;


/**
 * Whether a vision tower's images-as-heads attention ({@link CudaBackend#attentionImagesAsHeads}) keeps each head's
 * whole K and V resident in shared memory ({@code attention_mma_images_resident_<t>_d<64|80>_q<5|6>s2},
 * attention_mma.cu), chosen with {@code -Dglimpse.cuda.towerAttentionResident=off|auto|s2} (read at every call,
 * default {@code auto}; {@code off}: the tiled kernels of {@link AttentionSmallGrid}'s choice). The tiled kernels stream the keys
 * through two small buffers, a barrier per round of key tiles: one CLIP-L/336 image (577 tokens, 16 heads of 64) is
 * 304 {@code w2s2} blocks, latency-bound (17.6 us per layer on the H200, about 77 TFLOP/s, CUPTI, 2026-11-29). The
 * resident kernel runs one block per 80 query rows of a head (5 query warps, each with 2 key-split warps that walk
 * alternate key tiles and merge as {@code w2s2}'s do, so its bits: 128 blocks, one wave on 132 SMs) that copies all
 * of the head's K and V (184 KB at 577 keys) with cp.async up front, one commit group per round of key tiles, so its
 * warps wait once per round for keys that are already streaming and never for a buffer to free. It applies at padded
 * head dim 64 (CLIP) and at 80 for head dims up to 72 (SigLIP so400m: 6 query warps, 96 rows, one image 128 blocks;
 * rows of 72 dims, 221 KB at 729 keys, where padded rows would need 256 KB), where the head's keys fit the device's
 * dynamic shared memory (at most 768 keys on an H200); elsewhere the tiled kernels run.
 * <ul>
 *   <li>{@code s2}: wherever it applies;</li>
 *   <li>{@code auto}: where it applies and its grid is at most one wave (no more blocks than multiprocessors): one
 *       image, not a video's frames.</li>
 * </ul>
 * Measured on the H200 ({@code AttentionShapesBench}, graph-replayed, 2026-11-29, integration of 03c5986, us per
 * call with the K/V pack kernel, today's tiled choice -> {@code s2}): CLIP-L/336 one image 19.41 -> 16.88 (0.870x),
 * SigLIP so400m one image 32.15 -> 23.88 (0.743x), SigLIP so400m x 32 frames (4,096 blocks, 31 waves of one block per
 * SM) 544.50 -> 653.68 (1.20x slower, hence {@code auto}). Variants that lost everywhere went: 3 key-split warps per
 * query warp (CLIP 17.34 and 17.94 us) and each round's copies issued two rounds ahead instead of all up front (CLIP
 * 17.00, SigLIP 23.88, 32 frames 692.76). With the queries loaded before the copies are queued (bundle of d106677,
 * same bench): CLIP-L/336 19.36 -> 15.71 (0.811x), SigLIP one image 32.36 -> 22.36 (0.691x), 32 frames under
 * {@code auto} 540.73 -> 540.77 (the tiled kernels), under {@code s2} 615.06 (1.137x); {@code auto} became the
 * default then.
 */
public enum TowerAttentionResident {

    /** The tiled kernels (today's path). */
    OFF("off"),
    /** The resident kernel where its grid is at most one wave, else the tiled kernels. */
    AUTO("auto"),
    /** The resident kernel wherever it applies. */
    KEY_SPLIT_2("s2");

    /** The system property that picks the choice. */
    public static final String PROPERTY = "glimpse.cuda.towerAttentionResident";

    /** CLIP's padded head dim (64): 5 query warps, 80 rows, ceil(577 / 80) = 8 blocks per head, 128 per image. */
    static final int CLIP_DIM = 64;

    /**
     * SigLIP's padded head dim (80, for 72 dims): 6 query warps, 96 rows, ceil(729 / 96) = 8 blocks per head, and
     * tiles of rows of {@value #ROW_PITCH} dims (the padded rows would take 256 KB at 729 keys), so only for head dims
     * up to {@value #ROW_PITCH}.
     */
    static final int SIGLIP_DIM = 80;

    /** The tiles' row pitch in 16-bit values at both dims: CLIP's 64 + 8 padding, SigLIP's 72 dims themselves. */
    static final int ROW_PITCH = 72;

    /** Key-split warps per query warp. */
    static final int KEY_SPLIT = 2;

    private final String id;

    TowerAttentionResident(String id) {
        this.id = id;
    }

    /** The name the property takes, e.g. "auto". */
    public String id() {
        return id;
    }

    /**
     * Whether this choice runs the resident kernel for {@code tokens} queries of {@code heads} heads (all images) of
     * head dim {@code dim} padded to {@code paddedDim} on a GPU of {@code multiprocessors} SMs (shared memory aside,
     * {@link #sharedBytes}): at padded dim {@value #CLIP_DIM}, or {@value #SIGLIP_DIM} with at most
     * {@value #ROW_PITCH} dims; under {@link #AUTO} only where the grid has at most {@code multiprocessors} blocks;
     * never under {@link #OFF}.
     */
    boolean runs(int paddedDim, int dim, int tokens, int heads, int multiprocessors) {
        boolean applies = paddedDim == CLIP_DIM || (paddedDim == SIGLIP_DIM && dim <= ROW_PITCH);
        return switch (this) {
            case OFF -> false;
            case KEY_SPLIT_2 -> applies;
            case AUTO -> applies && blocks(paddedDim, tokens, heads) <= multiprocessors;
        };
    }

    /**
     * Whether this choice steps aside for a tiled shape forced by {@value AttentionMmaWarps#PROPERTY} or
     * {@value AttentionSmallGrid#PROPERTY} (set to anything but {@code auto}, {@code off} included: it asks for the
     * old {@code w4} kernels): {@link #AUTO} does, so that a forced
     * shape runs as asked (the resident kernel gives {@code w2s2}'s bits, not the forced shape's); {@code s2} forces the
     * resident kernel itself and does not.
     */
    boolean yieldsToForcedShape() {
        return this == AUTO && (AttentionMmaWarps.configured() != AttentionMmaWarps.AUTO
                || AttentionSmallGrid.configured() != AttentionSmallGrid.AUTO);
    }

    /** The resident grid's blocks for {@code tokens} queries of {@code heads} heads at {@code paddedDim}. */
    static long blocks(int paddedDim, int tokens, int heads) {
        int rows = queriesPerBlock(paddedDim);
        return (tokens + rows - 1L) / rows * heads;
    }

    /** 16-query warps per block at {@code paddedDim}. */
    static int queryWarps(int paddedDim) {
        return paddedDim == CLIP_DIM ? 5 : 6;
    }

    /** Threads per block at {@code paddedDim}. */
    static int threads(int paddedDim) {
        return queryWarps(paddedDim) * KEY_SPLIT * 32;
    }

    /** Queries per block at {@code paddedDim}. */
    static int queriesPerBlock(int paddedDim) {
        return queryWarps(paddedDim) * 16;
    }

    /** The kernel at 16-bit type {@code type} ("bf16" or "f16") and {@code paddedDim}. */
    static String kernel(String type, int paddedDim) {
        return "attention_mma_images_resident_" + type + "_d" + paddedDim + "_q" + queryWarps(paddedDim) + "s"
                + KEY_SPLIT;
    }

    /**
     * Dynamic shared memory of a block over {@code keys} keys at {@code paddedDim}: the K and V tiles of all key
     * tiles ([64][{@value #ROW_PITCH}] 16-bit values each; at {@value #SIGLIP_DIM} 16 zeroed bytes after them, which
     * the last row's reads past its dims reach) or, when larger, the key-split partials merge_key_groups stores
     * over them ((KSPLIT - 1) groups x (4 DP / 8 + 4) F32 values x the query warps' threads).
     */
    static long sharedBytes(int keys, int paddedDim) {
        long tiles = (keys + 63L) / 64;
        long keysValues = 2 * tiles * 64 * ROW_PITCH * 2 + (paddedDim > ROW_PITCH ? 16 : 0);
        long partials = (long) (KEY_SPLIT - 1) * (4 * (paddedDim / 8) + 4) * queryWarps(paddedDim) * 32 * Float.BYTES;
        return Math.max(keysValues, partials);
    }

    /** The choice the property names now, {@link #AUTO} when it is unset or blank. */
    public static TowerAttentionResident configured() {
        return parse(System.getProperty(PROPERTY));
    }

    /**
     * The choice called {@code id} (case-insensitive); {@link #AUTO} for null or blank.
     *
     * @throws CudaException naming the property and the known names when id is none of them
     */
    public static TowerAttentionResident parse(String id) {
        return PropertyChoice.parse(PROPERTY, id, AUTO, values(), TowerAttentionResident::id, "resident tower attention");
    }
}
