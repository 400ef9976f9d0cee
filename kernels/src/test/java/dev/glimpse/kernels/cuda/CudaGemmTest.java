package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaGemmTest {

    @ParameterizedTest(name = "{0} weights, m={1} n={2} k={3}")
    @CsvSource({
            "F32, 1, 37, 65", "F32, 77, 130, 256", "F32, 9, 1024, 1000",
            "BF16, 1, 37, 65", "BF16, 3, 300, 256", "BF16, 8, 129, 1024", "BF16, 9, 37, 65", "BF16, 77, 130, 256",
            "F16, 1, 300, 256", "F16, 5, 37, 65", "F16, 64, 512, 384",
            "BF16, 1, 896, 896", "BF16, 1, 4864, 896", "BF16, 1, 896, 4864", "BF16, 1, 9, 8192", "BF16, 1, 1003, 9000",
            "BF16, 1, 151936, 896", "BF16, 4, 300, 4864", "BF16, 8, 17, 2056", "F16, 2, 896, 4864", "F16, 1, 129, 1032"})
    void linearMatchesCpuWithBias(DType wType, int m, int n, int k) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(1, 1f, DType.F32, m, k);
             Tensor w = random(2, 0.05f, wType, n, k);
             Tensor bias = random(3, 0.1f, wType, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, bias, expected);
            gpu.linear(gx, gw, gb, out);
            double tol = wType == DType.F32 || m <= CudaGemm.GEMV_MAX_ROWS ? CudaTestSupport.GEMM_F32
                    : wType == DType.F16 ? CudaTestSupport.GEMM_F16 : CudaTestSupport.GEMM_BF16;
            assertClose("linear " + wType + " m=" + m + " n=" + n + " k=" + k, expected, out, tol);
        }
    }

    @ParameterizedTest(name = "transposeB={0}")
    @CsvSource({"false", "true"})
    void batchedMatmulMatchesCpu(boolean transposeB) {
        CudaBackend gpu = cuda();
        int b = 7;
        int m = 33;
        int k = 72;
        int n = 45;
        try (Tensor a = random(4, b, m, k);
             Tensor bm = transposeB ? random(5, b, n, k) : random(5, b, k, n);
             Tensor expected = Tensor.allocate(DType.F32, b, m, n);
             Tensor ga = gpu.upload(a); Tensor gb = gpu.upload(bm);
             Tensor out = gpu.allocate(DType.F32, b, m, n)) {
            CPU.batchedMatmul(a, bm, transposeB, 0.125f, expected);
            gpu.batchedMatmul(ga, gb, transposeB, 0.125f, out);
            assertClose("batchedMatmul transposeB=" + transposeB, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    @ParameterizedTest(name = "transposeB={0}")
    @CsvSource({"false", "true"})
    void batchedMatmulReadsHeadMajorViewsInPlace(boolean transposeB) {
        CudaBackend gpu = cuda();
        int t = 40;
        int heads = 6;
        int d = 64;
        try (Tensor q = random(6, t, heads, d); Tensor k = random(7, t, heads, d);
             Tensor expected = Tensor.allocate(DType.F32, heads, t, t);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k);
             Tensor out = gpu.allocate(DType.F32, heads, t, t)) {
            Tensor kView = transposeB ? k.transpose(0, 1) : k.transpose(0, 1).transpose(1, 2);
            Tensor gkView = transposeB ? gk.transpose(0, 1) : gk.transpose(0, 1).transpose(1, 2);
            if (transposeB) {
                CPU.batchedMatmul(q.transpose(0, 1), kView, true, 0.125f, expected);
                gpu.batchedMatmul(gq.transpose(0, 1), gkView, true, 0.125f, out);
            } else {
                CPU.batchedMatmul(q.transpose(0, 1), kView, false, 0.125f, expected);
                gpu.batchedMatmul(gq.transpose(0, 1), gkView, false, 0.125f, out);
            }
            assertClose("batchedMatmul strided views transposeB=" + transposeB, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /**
     * Both GEMV kernels (multi4, and warp forced onto its vector path) on every dtype: rows 1..8
     * (multi4's one-row build and its 8-row one), feature tails (n = 1, 7, 4097: groups of 4
     * features cut short), k tails (4104 = 513 chunks, not a multiple of a step), k = 8, k = 11008,
     * and k = 1001 (not a multiple of 8: warp's scalar fallback whatever is asked), with and
     * without bias.
     */
    static Stream<Arguments> gemvCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GemvVariant variant : GemvVariant.values()) {
            for (DType wType : new DType[] {DType.BF16, DType.F16}) {
                for (int rows = 1; rows <= CudaGemm.GEMV_MAX_ROWS; rows++) {
                    cases.add(Arguments.of(variant, wType, rows, 7, 4104, rows % 2 == 0));
                }
                cases.add(Arguments.of(variant, wType, 1, 1, 8, true));
                cases.add(Arguments.of(variant, wType, 3, 1, 8, false));
                cases.add(Arguments.of(variant, wType, 1, 4097, 4104, false));
                cases.add(Arguments.of(variant, wType, 5, 4097, 4104, true));
                cases.add(Arguments.of(variant, wType, 1, 33, 11008, true));
                cases.add(Arguments.of(variant, wType, 8, 33, 11008, false));
                cases.add(Arguments.of(variant, wType, 1, 300, 1001, true));
                cases.add(Arguments.of(variant, wType, 4, 300, 1001, false));
                cases.add(Arguments.of(variant, wType, 1, 11008, 4096, false));
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1} weights, rows={2} n={3} k={4} bias={5}")
    @MethodSource("gemvCases")
    void everyGemvVariantMatchesCpu(GemvVariant variant, DType wType, int rows, int n, int k, boolean withBias) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(11, 1f, DType.F32, rows, k);
             Tensor w = random(12, 0.05f, wType, n, k);
             Tensor bias = random(13, 0.1f, DType.F32, n);
             Tensor expected = Tensor.allocate(DType.F32, rows, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, rows, n)) {
            CPU.linear(x, w, withBias ? bias : null, expected);
            withGemv(variant, () -> gpu.linear(gx, gw, withBias ? gb : null, out));
            assertClose("gemv " + variant.id() + " " + wType + " rows=" + rows + " n=" + n + " k=" + k + " bias=" + withBias,
                    expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /**
     * Weights read in place from a wider matrix (row stride 4112 > k = 4104): aligned at column 0
     * (the vector path), at column 1 (rows 2 bytes off 16: the scalar fallback); bias in the weight dtype.
     */
    @ParameterizedTest(name = "{0}, first column {1}, rows={2}")
    @MethodSource("stridedCases")
    void everyGemvVariantReadsStridedWeightsInPlace(GemvVariant variant, int firstColumn, int rows) {
        CudaBackend gpu = cuda();
        int n = 515;
        int k = 4104;
        int ldw = 4112;
        try (Tensor x = random(14, 1f, DType.F32, rows, k);
             Tensor wide = random(15, 0.05f, DType.BF16, n, ldw);
             Tensor bias = random(16, 0.1f, DType.BF16, n);
             Tensor expected = Tensor.allocate(DType.F32, rows, n);
             Tensor gx = gpu.upload(x); Tensor gWide = gpu.upload(wide); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, rows, n)) {
            CPU.linear(x, wide.slice(1, firstColumn, firstColumn + k), bias, expected);
            withGemv(variant, () -> gpu.linear(gx, gWide.slice(1, firstColumn, firstColumn + k), gb, out));
            assertClose("gemv " + variant.id() + " strided w column " + firstColumn + " rows=" + rows,
                    expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    static Stream<Arguments> stridedCases() {
        List<Arguments> cases = new ArrayList<>();
        for (GemvVariant variant : GemvVariant.values()) {
            for (int firstColumn : new int[] {0, 1}) {
                cases.add(Arguments.of(variant, firstColumn, 1));
                cases.add(Arguments.of(variant, firstColumn, 6));
            }
        }
        return cases.stream();
    }

    @Test
    void defaultGemvIsBitIdenticalRunToRun() {
        CudaBackend gpu = cuda();
        int n = 11008;
        int k = 4096;
        try (Tensor x = random(17, 1f, DType.F32, 1, k);
             Tensor w = random(18, 0.05f, DType.BF16, n, k);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor first = gpu.allocate(DType.F32, 1, n); Tensor second = gpu.allocate(DType.F32, 1, n)) {
            withGemv(GemvVariant.DEFAULT, () -> {
                gpu.linear(gx, gw, null, first);
                gpu.linear(gx, gw, null, second);
            });
            try (Tensor a = gpu.download(first); Tensor b = gpu.download(second)) {
                assertArrayEquals(a.toFloatArray(), b.toFloatArray(), "default GEMV " + GemvVariant.DEFAULT.id() + " run twice");
            }
        }
    }

    /** The names parse case-insensitively; the removed kernels' names (split, multi2, smem) are rejected, naming the known ones. */
    @Test
    void unknownGemvVariantIsRejectedWithTheKnownNames() {
        for (String removed : new String[] {"fast", "split", "multi2", "smem"}) {
            CudaException e = assertThrows(CudaException.class, () -> GemvVariant.parse(removed));
            assertTrue(e.getMessage().contains("warp, multi4") && e.getMessage().contains("glimpse.cuda.gemv"),
                    e.getMessage());
        }
        assertEquals(GemvVariant.MULTI4, GemvVariant.parse(null));
        assertEquals(GemvVariant.WARP, GemvVariant.parse(" WARP "));
        assertEquals(GemvVariant.MULTI4, GemvVariant.parse("multi4"));
    }

    @Test
    void onlyMulti4HasAOneRowBuild() {
        assertEquals("gemv_half_multi4_1", GemvVariant.MULTI4.kernel(1));
        assertEquals("gemv_half_multi4", GemvVariant.MULTI4.kernel(2));
        assertEquals("gemv_half_weights", GemvVariant.WARP.kernel(1));
    }

    /** Runs body with -Dglimpse.cuda.gemv set to variant, then restores the property. */
    private static void withGemv(GemvVariant variant, Runnable body) {
        withProperty(GemvVariant.PROPERTY, variant.id(), body);
    }
}
