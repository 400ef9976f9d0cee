package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.AttentionMmaWarps;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.Mlp16Vector;

import java.io.PrintStream;
import java.util.Locale;

/**
 * The prefill small-kernel variants against the kernels they replace, per kernel, at LLaVA-1.5-7B's
 * prompt sizes (586 rows: the full image; 74: 64 VTC-CLS tokens plus text) for Llama-7B (32 heads of
 * 128 over 32 kv heads, the cache BF16) and Qwen2-0.5B (14 over 2 kv heads of 64), each variant's
 * {@value #CALLS} calls captured in one graph and replayed (no launch gaps, as in a prefill graph):
 * <ul>
 *   <li>{@code rope_append}: {@link CudaBackend#ropeAppendKvRows} with
 *   {@code -Dglimpse.cuda.ropeAppendVector=false} ({@code rope_append_kv_rows_bf16}) and {@code =true}
 *   ({@code rope_append_kv_rows_vec_bf16}).</li>
 *   <li>{@code attention_o_proj}: causal attention over the cache in place then o_proj with the residual,
 *   the F32 attention rows that o_proj's {@code convert_f32} rounds (today) against
 *   {@link CudaBackend#attentionHalfOutput} storing the 16-bit rows itself
 *   ({@code -Dglimpse.cuda.attentionHalfOutput=true} in the decoder); and the attention alone both ways.</li>
 *   <li>{@code attention_w2s2_vs_w4}: the F32-row attention with the block shape forced, {@code w4} against
 *   the existing key-split shape {@code w2s2} (twice the blocks, each 16-row warp's keys walked by two
 *   warps), which {@code auto} takes only on smaller grids.</li>
 *   <li>{@code pdl_rope_append}, {@code pdl_attention}, {@code pdl_rope_attention_o_proj}: the vectorised
 *   RoPE + append, the 16-bit-output attention, and the two followed by o_proj with the residual (a
 *   prefill block's chain: our kernel after our kernel, then after the cuBLASLt GEMM), each with
 *   {@code -Dglimpse.cuda.pdlPrefill=false} (old) and {@code =true} (new: programmatic dependent launch,
 *   kept as programmatic edges by the capture, so each kernel's launch and prologue overlap the previous
 *   one's tail).</li>
 *   <li>{@code rope_attention}: the RoPE + KV cache append then the 16-bit output attention (the pair a decoder
 *   prefill runs today) against {@link CudaBackend#ropeAppendAttention} doing both in one launch
 *   ({@code -Dglimpse.cuda.prefillRopeAttention=true} in the decoder; its row limit raised here, so 586 rows
 *   show what the limit avoids).</li>
 *   <li>{@code mlp16}: a decoder MLP's first half at the model's intermediate size (Llama-7B 11008,
 *   Qwen2-0.5B 4864) from a BF16 normed input, the stacked gate/up GEMM into F32 then
 *   {@code gated_activation_f32_v4} into down_proj's BF16 input (old: the decoder under
 *   {@code -Dglimpse.cuda.mlp16=false}) against {@link CudaBackend#linearStackRounded} (gate/up written in BF16)
 *   then {@link CudaBackend#gatedActivationRounded} (new: the decoder's default since 2026-11-29);
 *   {@code mlp16_gemm} and {@code mlp16_activation}, each half alone both ways ({@link Mlp16Vector}'s
 *   {@code auto} choice of values per thread), and {@code mlp16_activation_v4} / {@code _v8}, the new activation
 *   forced to four or eight values per thread against the same old one.</li>
 * </ul>
 * Prints one JSON line per kernel and shape ({@code "bench":"prefill_small_kernels"}: us per call old
 * and new, their ratio). Run on the GPU machine:
 * {@code java -cp <kernels classpath> dev.glimpse.kernels.cuda.bench.PrefillSmallKernelsBench [rows ...]}
 * (no argument: 586 74).
 */
public final class PrefillSmallKernelsBench {

    static final int CALLS = 16;
    static final int WARMUP = 3;
    static final int REPLAYS = 20;
    static final int ROUNDS = 5;

    /** A decoder's attention shape. */
    private record Shape(String name, int heads, int kvHeads, int headDim) {
        int hidden() {
            return heads * headDim;
        }
    }

    private static final Shape[] SHAPES = {new Shape("llama-7b", 32, 32, 128), new Shape("qwen2-0.5b", 14, 2, 64)};

    private PrefillSmallKernelsBench() {
    }

    public static void main(String[] args) {
        int[] rows = args.length == 0 ? new int[] {586, 74} : java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray();
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (Shape shape : SHAPES) {
                for (int r : rows) {
                    run(gpu, shape, r, System.out);
                    mlp16(gpu, shape, r, System.out);
                }
            }
        }
    }

    static void run(CudaBackend gpu, Shape shape, int rows, PrintStream out) {
        int h = shape.heads();
        int hkv = shape.kvHeads();
        int d = shape.headDim();
        int capacity = rows + 64;
        float scale = (float) Math.pow(d, -0.5);
        try (Tensor q = BenchClock.onDevice(gpu, BenchTensors.uniform(1, 1f, DType.F32, rows, h, d));
             Tensor k = BenchClock.onDevice(gpu, BenchTensors.uniform(2, 1f, DType.F32, rows, hkv, d));
             Tensor v = BenchClock.onDevice(gpu, BenchTensors.uniform(3, 1f, DType.F32, rows, hkv, d));
             Tensor cos = BenchClock.onDevice(gpu, table(rows, d / 2, true)); Tensor sin = BenchClock.onDevice(gpu, table(rows, d / 2, false));
             Tensor keys = gpu.allocate(DType.BF16, hkv, capacity, d); Tensor values = gpu.allocate(DType.BF16, hkv, capacity, d);
             Tensor rowsF32 = gpu.allocate(DType.F32, rows, h, d); Tensor rows16 = gpu.allocate(DType.BF16, rows, h, d);
             Tensor o = BenchClock.onDevice(gpu, BenchTensors.uniform(4, 0.02f, DType.BF16, shape.hidden(), shape.hidden()));
             Tensor residual = gpu.allocate(DType.F32, rows, shape.hidden())) {
            gpu.ropeAppendKvRows(q, k, v, cos, sin, keys, values, 0);
            Tensor keyView = keys.slice(1, 0, rows).transpose(0, 1);
            Tensor valueView = values.slice(1, 0, rows).transpose(0, 1);
            AttentionMask mask = AttentionMask.causal(0);
            Runnable ropeAppend = () -> gpu.ropeAppendKvRows(q, k, v, cos, sin, keys, values, 0);
            Runnable attentionF32 = () -> gpu.attention(q, keyView, valueView, mask, scale, rowsF32, null, null,
                    AttentionPrecision.BF16);
            Runnable attention16 = () -> {
                if (!gpu.attentionHalfOutput(q, keyView, valueView, mask, scale, rows16, AttentionPrecision.BF16)) {
                    throw new IllegalStateException("the 16-bit output attention kernel declined " + shape);
                }
            };
            Runnable oldPair = () -> {
                attentionF32.run();
                gpu.linearAddResidual(rowsF32.reshape(rows, shape.hidden()), o, null, residual, residual);
            };
            Runnable newPair = () -> {
                attention16.run();
                gpu.linearAddResidual(rows16.reshape(rows, shape.hidden()), o, null, residual, residual);
            };
            print(out, gpu, shape, rows, "rope_append",
                    PropertyScope.measure(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "false", () -> time(gpu, ropeAppend)),
                    PropertyScope.measure(CudaBackend.ROPE_APPEND_VECTOR_PROPERTY, "true", () -> time(gpu, ropeAppend)));
            print(out, gpu, shape, rows, "attention", time(gpu, attentionF32), time(gpu, attention16));
            print(out, gpu, shape, rows, "attention_o_proj", time(gpu, oldPair), time(gpu, newPair));
            print(out, gpu, shape, rows, "attention_w2s2_vs_w4", blockShapeTime(gpu, "w4", "off", attentionF32),
                    blockShapeTime(gpu, "w4", "w2s2", attentionF32));
            Runnable chain = () -> {
                ropeAppend.run();
                newPair.run();
            };
            print(out, gpu, shape, rows, "pdl_rope_append", pdlTime(gpu, "false", ropeAppend),
                    pdlTime(gpu, "true", ropeAppend));
            print(out, gpu, shape, rows, "pdl_attention", pdlTime(gpu, "false", attention16),
                    pdlTime(gpu, "true", attention16));
            print(out, gpu, shape, rows, "pdl_rope_attention_o_proj", pdlTime(gpu, "false", chain),
                    pdlTime(gpu, "true", chain));
            Runnable ropeAttentionPair = () -> {
                ropeAppend.run();
                attention16.run();
            };
            Runnable ropeAttention = () -> {
                if (!gpu.ropeAppendAttention(q, k, v, cos, sin, keys, values, 0, scale, rows16, AttentionPrecision.BF16)) {
                    throw new IllegalStateException("the fused RoPE + append + attention kernel declined " + shape);
                }
            };
            print(out, gpu, shape, rows, "rope_attention", time(gpu, ropeAttentionPair),
                    PropertyScope.measure(CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY, Integer.toString(rows),
                            () -> time(gpu, ropeAttention)));
        }
    }

    /** The {@code mlp16} cases: a decoder MLP's stacked gate/up product and gated activation, F32 vs HF's BF16 roundings. */
    static void mlp16(CudaBackend gpu, Shape shape, int rows, PrintStream out) {
        int hidden = shape.hidden();
        int inter = intermediate(shape);
        try (Tensor x = BenchClock.onDevice(gpu, BenchTensors.uniform(5, 1f, DType.BF16, rows, hidden));
             Tensor w = BenchClock.onDevice(gpu, BenchTensors.uniform(6, 0.02f, DType.BF16, 2, inter, hidden));
             Tensor gateUp = gpu.allocate(DType.F32, 2, rows, inter);
             Tensor gateUp16 = gpu.allocate(DType.BF16, 2, rows, inter);
             Tensor activated = gpu.allocate(DType.BF16, rows, inter)) {
            Runnable gemm = () -> gpu.linearStack(x, w, null, gateUp);
            Runnable gemm16 = () -> {
                if (!gpu.linearStackRounded(x, w, null, gateUp16)) {
                    throw new IllegalStateException("the rounded stacked gate/up product declined " + shape);
                }
            };
            Runnable activation = () -> gpu.gatedActivation(Activation.SILU, gateUp.select(0, 0),
                    gateUp.select(0, 1), activated);
            Runnable activation16 = () -> gpu.gatedActivationRounded(Activation.SILU,
                    gateUp16.select(0, 0), gateUp16.select(0, 1), activated);
            Runnable pair = () -> {
                gemm.run();
                activation.run();
            };
            Runnable pair16 = () -> {
                gemm16.run();
                activation16.run();
            };
            print(out, gpu, shape, rows, "mlp16", time(gpu, pair), time(gpu, pair16));
            print(out, gpu, shape, rows, "mlp16_gemm", time(gpu, gemm), time(gpu, gemm16));
            double activationUs = time(gpu, activation);
            print(out, gpu, shape, rows, "mlp16_activation", activationUs, time(gpu, activation16));
            for (Mlp16Vector width : new Mlp16Vector[] {Mlp16Vector.FOUR, Mlp16Vector.EIGHT}) {
                print(out, gpu, shape, rows, "mlp16_activation_v" + width.id(), activationUs,
                        PropertyScope.measure(Mlp16Vector.PROPERTY, width.id(), () -> time(gpu, activation16)));
            }
        }
    }

    /** The MLP width of the model whose attention {@code shape} is (Llama-2-7B's 11008, Qwen2-0.5B's 4864). */
    private static int intermediate(Shape shape) {
        return switch (shape.name()) {
            case "llama-7b" -> 11008;
            case "qwen2-0.5b" -> 4864;
            default -> throw new IllegalArgumentException("no MLP width known for " + shape.name());
        };
    }

    private static void print(PrintStream out, CudaBackend gpu, Shape shape, int rows, String kernel, double oldUs,
                              double newUs) {
        out.println(String.format(Locale.ROOT,
                "{\"bench\":\"prefill_small_kernels\",\"device\":\"%s\",\"shape\":\"%s\",\"rows\":%d,\"kernel\":\"%s\","
                        + "\"old_us\":%.2f,\"new_us\":%.2f,\"speedup\":%.3f}",
                gpu.deviceName(), shape.name(), rows, kernel, oldUs, newUs, oldUs / newUs));
    }

    /** Median over rounds of us per call: {@value #CALLS} calls captured once per round and replayed. */
    private static double time(CudaBackend gpu, Runnable call) {
        return BenchClock.graphMicrosPerCall(gpu, CALLS, WARMUP, REPLAYS, ROUNDS, call);
    }

    /**
     * {@link #time} of call with the attention block shape forced: {@code warps} the {@link AttentionMmaWarps}
     * choice, {@code smallGrid} the {@link AttentionSmallGrid} one.
     */
    private static double blockShapeTime(CudaBackend gpu, String warps, String smallGrid, Runnable call) {
        return PropertyScope.measure(AttentionMmaWarps.PROPERTY, warps,
                () -> PropertyScope.measure(AttentionSmallGrid.PROPERTY, smallGrid, () -> time(gpu, call)));
    }

    /** {@link #time} of call under {@code -Dglimpse.cuda.pdlPrefill=pdlPrefill} (captured with it, so its graph keeps it). */
    private static double pdlTime(CudaBackend gpu, String pdlPrefill, Runnable call) {
        return PropertyScope.measure(CudaBackend.PDL_PREFILL_PROPERTY, pdlPrefill, () -> time(gpu, call));
    }

    /** Rotary table [rows, half] of unit-norm pairs (cos or sin of position * 10000^(-i / half)), so repeated rotations stay bounded. */
    private static Tensor table(int rows, int half, boolean cos) {
        float[] t = new float[rows * half];
        for (int p = 0; p < rows; p++) {
            for (int i = 0; i < half; i++) {
                double angle = p * Math.pow(10000, -(double) i / half);
                t[p * half + i] = (float) (cos ? Math.cos(angle) : Math.sin(angle));
            }
        }
        return Tensor.of(t, rows, half);
    }
}
