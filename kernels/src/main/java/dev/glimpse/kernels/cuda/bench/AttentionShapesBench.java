package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.TowerAttentionResident;

import java.io.PrintStream;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The 16-bit attention kernel's small-grid block shapes ({@link AttentionSmallGrid}) on the latency-bound launches
 * of a 64-token LLaVA-1.5-7B request, against today's choice (the property unset: {@code auto}), BF16:
 * <ul>
 *   <li>{@code clip-l-336-images}: CLIP-L/336's tower attention on one image, {@link CudaBackend#attentionImagesAsHeads}
 *   (577 queries, 16 heads of 64, bidirectional; the K/V pack kernel included);</li>
 *   <li>{@code siglip-so400m-images}: SigLIP so400m's on one image (729 queries, 16 heads of 72, padded to 80), and
 *   {@code siglip-so400m-images-32} on {@value #VIDEO_FRAMES} frames (resident lines only);</li>
 *   <li>{@code llama-7b-rope-attention-74}: {@link CudaBackend#ropeAppendAttention} at 74 rows (RoPE, BF16 KV cache
 *   append and causal attention in one launch; 32 heads of 128 over 32 kv heads);</li>
 *   <li>{@code qwen2-0.5b-rope-attention-74}: the same at Qwen2-0.5B's heads (14 over 2 kv heads of 64).</li>
 * </ul>
 * {@code -D}{@value #ROWS_PROPERTY}{@code =74,128,208,288} runs the rope-attention cases at each of those row
 * counts (default {@value #PREFILL_ROWS}; past {@link CudaBackend#prefillRopeAttentionMaxRows()} that bound is raised
 * for the case). The CLIP and SigLIP cases also print one line per resident tower attention
 * ({@link TowerAttentionResident}), {@code "bench":"tower_attention_resident"}: {@code old_us} (today's path, the
 * pack kernel included), {@code new_us}, {@code ratio} = new / old and whether the resident kernel ran.
 * The tower cases set {@value AttentionSmallGrid#PROPERTY}, the rope-attention cases
 * {@value AttentionSmallGrid#ROPE_ATTENTION_PROPERTY} (the fused kernel's own choice). Each (case, shape) captures {@value #CALLS} calls in one graph and replays it ({@value #REPLAYS} timed replays
 * after {@value #WARMUP}, median of {@value #ROUNDS} captures), as a prefill graph runs them. Prints one JSON line
 * per (case, shape), {@code "bench":"attention_shapes"}: us per call, today's us per call and their ratio
 * {@code speedup} = today / shape (above 1: the shape is faster). Run on the GPU machine:
 * {@code java -cp <kernels classpath> dev.glimpse.kernels.cuda.bench.AttentionShapesBench}.
 */
public final class AttentionShapesBench {

    static final int CALLS = 16;
    static final int WARMUP = 3;
    static final int REPLAYS = 20;
    static final int ROUNDS = 5;
    static final int PREFILL_ROWS = 74;
    /** Frames of the video case: LLaVA-OneVision's 32 frames of SigLIP so400m in one tower call. */
    static final int VIDEO_FRAMES = 32;
    /** Comma-separated prefill row counts of the rope-attention cases (default {@value #PREFILL_ROWS}). */
    static final String ROWS_PROPERTY = "attnShapes.rows";

    private AttentionShapesBench() {
    }

    public static void main(String[] args) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            images(gpu, "clip-l-336-images", 577, 16, 64, 1, System.out);
            images(gpu, "siglip-so400m-images", 729, 16, 72, 1, System.out);
            images(gpu, "siglip-so400m-images-32", 729, 16, 72, VIDEO_FRAMES, System.out);
            for (int rows : prefillRows(System.getProperty(ROWS_PROPERTY))) {
                // Past the fused kernel's default row bound it is raised for the case, so the kernel runs.
                String maxRows = String.valueOf(Math.max(rows, CudaBackend.prefillRopeAttentionMaxRows()));
                PropertyScope.run(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, maxRows, () -> {
                    ropeAttention(gpu, "llama-7b-rope-attention-" + rows, rows, 32, 32, 128, System.out);
                    ropeAttention(gpu, "qwen2-0.5b-rope-attention-" + rows, rows, 14, 2, 64, System.out);
                });
            }
        }
    }

    /**
     * The tower attention of {@code images} images as heads: q, k, v F32 [tokens, images heads, d], the 16-bit
     * image-major output [images, tokens, heads d]; the small-grid shapes for one image only (a batch's grid is not
     * small), the resident choices for every case.
     */
    static void images(CudaBackend gpu, String name, int tokens, int heads, int d, int images, PrintStream out) {
        float scale = (float) Math.pow(d, -0.5);
        int allHeads = images * heads;
        try (Tensor q = BenchClock.onDevice(gpu, BenchTensors.uniform(1, 1f, DType.F32, tokens, allHeads, d));
             Tensor k = BenchClock.onDevice(gpu, BenchTensors.uniform(2, 1f, DType.F32, tokens, allHeads, d));
             Tensor v = BenchClock.onDevice(gpu, BenchTensors.uniform(3, 1f, DType.F32, tokens, allHeads, d));
             Tensor o = gpu.allocate(DType.BF16, images, tokens, heads * d)) {
            Runnable call = () -> gpu.attentionImagesAsHeads(q, k, v, scale, o, AttentionPrecision.BF16);
            if (images == 1) {
                // The images kernels have no w2s4b1 and w2s2b1 only at padded dim 80 (CudaAttention#hasImagesKernel).
                Set<AttentionSmallGrid> without = d > 64 && d <= 80 ? EnumSet.of(AttentionSmallGrid.FOUR_WAY_KEY_SPLIT)
                        : EnumSet.of(AttentionSmallGrid.FOUR_WAY_KEY_SPLIT, AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND);
                compareShapes(gpu, name, AttentionSmallGrid.PROPERTY, without, call, out);
            }
            compareResident(gpu, name, call, out);
        }
    }

    /**
     * One line per resident tower attention ({@link TowerAttentionResident}, set through its property) against
     * the tiled kernels ({@code off}; unset means {@code auto} since dda008b; the pack kernel included in both): {@code old_us}, {@code new_us} and
     * {@code ratio} = new / old (below 1: the resident kernel is faster); {@code resident} says whether the resident
     * kernel ran at all (false: the shape is one it does not take, both times are the tiled path's).
     */
    private static void compareResident(CudaBackend gpu, String name, Runnable call, PrintStream out) {
        double old = PropertyScope.measure(TowerAttentionResident.PROPERTY, TowerAttentionResident.OFF.id(),
                () -> time(gpu, call));
        for (TowerAttentionResident variant : TowerAttentionResident.values()) {
            if (variant == TowerAttentionResident.OFF) {
                continue;
            }
            long before = gpu.towerAttentionResidentLaunches();
            double us = PropertyScope.measure(TowerAttentionResident.PROPERTY, variant.id(), () -> time(gpu, call));
            boolean ran = gpu.towerAttentionResidentLaunches() > before;
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"tower_attention_resident\",\"device\":\"%s\",\"case\":\"%s\",\"variant\":\"%s\","
                            + "\"resident\":%b,\"old_us\":%.2f,\"new_us\":%.2f,\"ratio\":%.3f}",
                    gpu.deviceName(), name, variant.id(), ran, old, us, us / old));
        }
    }

    /**
     * The rope-attention cases' row counts: {@code list} (comma-separated positive integers, {@value #ROWS_PROPERTY})
     * or {@value #PREFILL_ROWS} when it is null or blank.
     *
     * @throws IllegalArgumentException naming the property when an entry is not a positive integer
     */
    static int[] prefillRows(String list) {
        if (list == null || list.isBlank()) {
            return new int[] {PREFILL_ROWS};
        }
        String[] parts = list.split(",");
        int[] rows = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                rows[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                rows[i] = 0;
            }
            if (rows[i] <= 0) {
                throw new IllegalArgumentException("-D" + ROWS_PROPERTY + " takes comma-separated positive row counts,"
                        + " got '" + list + "'");
            }
        }
        return rows;
    }

    /** A fresh prefill's RoPE + BF16 cache append + causal attention over {@code rows} rows. */
    static void ropeAttention(CudaBackend gpu, String name, int rows, int heads, int kvHeads, int d, PrintStream out) {
        int capacity = rows + 64;
        float scale = (float) Math.pow(d, -0.5);
        try (Tensor q = BenchClock.onDevice(gpu, BenchTensors.uniform(1, 1f, DType.F32, rows, heads, d));
             Tensor k = BenchClock.onDevice(gpu, BenchTensors.uniform(2, 1f, DType.F32, rows, kvHeads, d));
             Tensor v = BenchClock.onDevice(gpu, BenchTensors.uniform(3, 1f, DType.F32, rows, kvHeads, d));
             Tensor cos = BenchClock.onDevice(gpu, BenchTensors.uniform(4, 1f, DType.F32, rows, d / 2));
             Tensor sin = BenchClock.onDevice(gpu, BenchTensors.uniform(5, 1f, DType.F32, rows, d / 2));
             Tensor keys = gpu.allocate(DType.BF16, kvHeads, capacity, d);
             Tensor values = gpu.allocate(DType.BF16, kvHeads, capacity, d);
             Tensor o = gpu.allocate(DType.BF16, rows, heads, d)) {
            // The fused kernel has no w2s2b1 (CudaAttention#hasRopeAttentionKernel).
            compareShapes(gpu, name, AttentionSmallGrid.ROPE_ATTENTION_PROPERTY,
                    EnumSet.of(AttentionSmallGrid.KEY_SPLIT_SINGLE_ROUND), () -> {
                if (!gpu.ropeAppendAttention(q, k, v, cos, sin, keys, values, 0, scale, o, AttentionPrecision.BF16)) {
                    throw new IllegalStateException("the fused RoPE + append + attention kernel declined " + name);
                }
            }, out);
        }
    }

    /**
     * Today's time, then one line per named small-grid shape (off: {@code w4}) set through {@code property}
     * against it, but those in {@code without} (shapes the call has no kernel of: it would decline or compose).
     */
    private static void compareShapes(CudaBackend gpu, String name, String property, Set<AttentionSmallGrid> without,
                                      Runnable call, PrintStream out) {
        double today = time(gpu, call);
        for (AttentionSmallGrid shape : AttentionSmallGrid.values()) {
            if (shape == AttentionSmallGrid.AUTO || without.contains(shape)) {
                continue;
            }
            double us = PropertyScope.measure(property, shape.id(), () -> time(gpu, call));
            out.println(String.format(Locale.ROOT,
                    "{\"bench\":\"attention_shapes\",\"device\":\"%s\",\"case\":\"%s\",\"property\":\"%s\","
                            + "\"shape\":\"%s\",\"us_per_call\":%.2f,\"today_us\":%.2f,\"speedup\":%.3f}",
                    gpu.deviceName(), name, property, shape.id(), us, today, today / us));
        }
    }

    /** Median over rounds of us per call: {@value #CALLS} calls captured once per round and replayed. */
    private static double time(CudaBackend gpu, Runnable call) {
        return BenchClock.graphMicrosPerCall(gpu, CALLS, WARMUP, REPLAYS, ROUNDS, call);
    }
}
