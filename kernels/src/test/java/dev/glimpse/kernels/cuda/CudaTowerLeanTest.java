package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;

/**
 * GPU-only: the kernel side of {@code -Dglimpse.cuda.towerLean=true} ({@link CudaBackend#towerLeanEnabled})
 * gives the bits of the default passes. K and V packed in one launch ({@code attention_mma_pack_kv_<t>_d<D>})
 * feed {@link CudaBackend#attention} and {@link CudaBackend#attentionImagesAsHeads} exactly what the two
 * {@code attention_mma_pack_<t>_d<D>} launches fed them, at CLIP's (577 tokens, 16 heads of 64), SigLIP's
 * (729, 16 of 72, padded to 80) and other head dims, with K and V as slices of one stacked q/k/v product as the
 * tower passes them; {@code activation_f32_v4} writes {@code activation_f32}'s bits for every activation and
 * output type, in place too, and through {@link CudaBackend#linearActivation} (CLIP's fc1 + quick_gelu into
 * 16-bit fc2 input).
 */
class CudaTowerLeanTest {

    private static final double BF16_VS_CPU = 3e-2;
    private static final double F16_VS_CPU = 5e-3;

    @ParameterizedTest(name = "{0} D={1} T={2} heads={3} {4}")
    @CsvSource({"BF16, 64, 577, 16, auto", "F16, 64, 577, 16, auto", "BF16, 72, 729, 16, auto",
            "BF16, 72, 729, 32, w8", "F16, 128, 130, 4, w4", "BF16, 38, 77, 3, w4", "BF16, 64, 50, 2, w4x2"})
    void attentionWithKeysAndValuesPackedInOneLaunchGivesTheSameBits(String type, int d, int tokens, int heads,
                                                                      String warps) {
        CudaBackend gpu = cuda();
        AttentionPrecision precision = AttentionPrecision.valueOf(type);
        float scale = (float) Math.pow(d, -0.5);
        String label = "attention " + type + " D=" + d + " T=" + tokens + " heads=" + heads + " " + warps;
        int width = heads * d;
        try (Tensor qkv = random(41, 1f, DType.F32, 3, tokens, width); Tensor g = gpu.upload(qkv);
             Tensor off = gpu.allocate(DType.F32, tokens, heads, d); Tensor on = gpu.allocate(DType.F32, tokens, heads, d);
             Tensor expected = Tensor.allocate(DType.F32, tokens, heads, d)) {
            Tensor q = g.select(0, 0).reshape(tokens, heads, d);
            Tensor k = g.select(0, 1).reshape(tokens, heads, d);
            Tensor v = g.select(0, 2).reshape(tokens, heads, d);
            withLean("false", warps, () -> gpu.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, off, null, null,
                    precision));
            withLean("true", warps, () -> gpu.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, on, null, null,
                    precision));
            assertBitsEqual(label + " lean vs default", off, on);
            CPU.attention(qkv.select(0, 0).reshape(tokens, heads, d), qkv.select(0, 1).reshape(tokens, heads, d),
                    qkv.select(0, 2).reshape(tokens, heads, d), AttentionMask.BIDIRECTIONAL, scale, expected, null, null,
                    precision);
            assertClose(label + " lean vs CPU", expected, on, precision == AttentionPrecision.BF16 ? BF16_VS_CPU
                    : F16_VS_CPU);
        }
    }

    /**
     * attentionImagesAsHeads, one image (the tower's lean batch-1 layer) and three (a batch): one pack
     * launch stores the bits of two.
     */
    @ParameterizedTest(name = "{0} D={1} T={2} images={3}")
    @CsvSource({"BF16, 64, 577, 1", "BF16, 64, 577, 3", "F16, 64, 257, 1", "BF16, 72, 729, 1", "F16, 72, 729, 2",
            "BF16, 128, 130, 2"})
    void imagesAsHeadsWithKeysAndValuesPackedInOneLaunchGivesTheSameBits(String type, int d, int tokens, int images) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        AttentionPrecision precision = AttentionPrecision.valueOf(type);
        int heads = 16;
        int allHeads = images * heads;
        float scale = (float) Math.pow(d, -0.5);
        String label = "attentionImagesAsHeads " + type + " D=" + d + " T=" + tokens + " images=" + images;
        try (Tensor qkv = random(43, 1f, DType.F32, 3, tokens, allHeads * d); Tensor g = gpu.upload(qkv);
             Tensor off = gpu.allocate(half, images, tokens, heads * d); Tensor on = gpu.allocate(half, images, tokens, heads * d)) {
            Tensor q = g.select(0, 0).reshape(tokens, allHeads, d);
            Tensor k = g.select(0, 1).reshape(tokens, allHeads, d);
            Tensor v = g.select(0, 2).reshape(tokens, allHeads, d);
            withLean("false", "auto", () -> gpu.attentionImagesAsHeads(q, k, v, scale, off, precision));
            withLean("true", "auto", () -> gpu.attentionImagesAsHeads(q, k, v, scale, on, precision));
            assertBitsEqual(label + " lean vs default", off, on);
        }
    }

    @ParameterizedTest(name = "{0}x{1} {2} -> {3} in place={4}")
    @CsvSource({"577, 4096, QUICK_GELU, BF16, false", "577, 4096, QUICK_GELU, F16, false",
            "577, 4096, QUICK_GELU, F32, true", "729, 4304, GELU_TANH, BF16, false", "9, 64, GELU_ERF, F32, false",
            "9, 64, SILU, BF16, false", "9, 64, RELU, F16, false", "3, 7, QUICK_GELU, BF16, false",
            "3, 7, QUICK_GELU, F32, true"})
    void vectorActivationWritesTheScalarKernelsBits(int rows, int width, Activation f, DType outType, boolean inPlace) {
        CudaBackend gpu = cuda();
        String label = "activation " + f + " " + rows + "x" + width + " -> " + outType + (inPlace ? " in place" : "");
        try (Tensor x = random(311, 3f, DType.F32, rows, width); Tensor scalarIn = gpu.upload(x);
             Tensor vectorIn = gpu.upload(x); Tensor scalarOut = gpu.allocate(outType, rows, width);
             Tensor vectorOut = gpu.allocate(outType, rows, width); Tensor expected = Tensor.allocate(outType, rows, width)) {
            Tensor scalar = inPlace ? scalarIn : scalarOut;
            Tensor vector = inPlace ? vectorIn : vectorOut;
            withLean("false", "auto", () -> gpu.activation(f, scalarIn, scalar));
            withLean("true", "auto", () -> gpu.activation(f, vectorIn, vector));
            assertBitsEqual(label + ": lean vs default", scalar, vector);
            CPU.activation(f, x, expected);
            double tolerance = switch (outType) {
                case BF16 -> 1e-2;
                case F16 -> 2e-3;
                default -> CudaTestSupport.F32;
            };
            assertClose(label + " vs CPU", expected, vector, tolerance);
        }
    }

    /** CLIP's fc1 + quick_gelu (no cuBLASLt epilogue) into the 16-bit fc2 input: the same bits under towerLean. */
    @ParameterizedTest(name = "{0} rows={1}")
    @CsvSource({"BF16, 577", "F16, 577", "BF16, 1154", "BF16, 5"})
    void quickGeluAfterTheProductGivesTheSameBits(String type, int rows) {
        CudaBackend gpu = cuda();
        DType half = DType.valueOf(type);
        int in = 256;
        int out = 1024;
        try (Tensor x = random(51, 1f, DType.F32, rows, in); Tensor w = random(52, 0.06f, half, out, in);
             Tensor b = random(53, 0.1f, DType.F32, out); Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor gb = gpu.upload(b); Tensor off = gpu.allocate(half, rows, out); Tensor on = gpu.allocate(half, rows, out)) {
            withLean("false", "auto", () -> gpu.linearActivation(Activation.QUICK_GELU, gx, gw, gb, off));
            withLean("true", "auto", () -> gpu.linearActivation(Activation.QUICK_GELU, gx, gw, gb, on));
            assertBitsEqual("fc1 + quick_gelu " + type + " rows=" + rows + ": lean vs default", off, on);
        }
    }

    /** body under towerLean = {@code lean} and attentionMma = {@code warps}, then waits for the GPU. */
    private static void withLean(String lean, String warps, Runnable body) {
        withProperties(Map.of(CudaBackend.TOWER_LEAN_PROPERTY, lean, AttentionMmaWarps.PROPERTY, warps), () -> {
            body.run();
            cuda().synchronize();
            return null;
        });
    }
}
