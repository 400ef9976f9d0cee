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
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The skinny prefill GEMM ({@code gemm_skinny.cu}, {@link CudaSkinnyGemm}) against the CPU backend
 * and against cuBLASLt ({@code -Dglimpse.cuda.skinnyGemm=off}). GPU-only: skipped where CUDA is unavailable.
 *
 * <p>Most cases feed activations whose values are representable in the weights' 16-bit dtype:
 * then the GPU's 16-bit products are exact in F32, as the CPU's are, and the two differ only in
 * summation order, so the bound is {@link CudaTestSupport#GEMM_F32} (1e-4 of the largest output)
 * rather than the activation-rounding bound: a mis-permuted k, a lost tail step or a row written to
 * the wrong place shows as an error of order 1e-2 or more.
 */
class CudaSkinnyGemmTest {

    private static final int[] ROWS = {9, 16, 17, 64, 74, 127, 128};

    /** (n, k): one feature block or less, tails of n, k not a multiple of 32 (200, 4104), one chunk (64), many. */
    private static final int[][] SHAPES = {{8, 64}, {24, 896}, {200, 4864}, {896, 896}, {4104, 4096}, {4096, 200}, {136, 4104}};

    static Stream<Arguments> representableCases() {
        List<Arguments> cases = new ArrayList<>();
        for (DType wType : new DType[] {DType.BF16, DType.F16}) {
            for (int i = 0; i < ROWS.length; i++) {
                for (int j = 0; j < 2; j++) {
                    int[] shape = SHAPES[(i + 2 * j + (wType == DType.F16 ? 3 : 0)) % SHAPES.length];
                    DType xType = (i + j) % 2 == 0 ? DType.F32 : wType;
                    cases.add(Arguments.of(wType, xType, ROWS[i], shape[0], shape[1], (i / 2 + j) % 2 == 0));
                }
            }
        }
        cases.add(Arguments.of(DType.BF16, DType.F32, 74, 4096, 4096, false));
        cases.add(Arguments.of(DType.BF16, DType.BF16, 74, 11008, 4096, true));
        cases.add(Arguments.of(DType.BF16, DType.F32, 74, 4096, 11008, true));
        cases.add(Arguments.of(DType.F16, DType.F32, 128, 4864, 896, true));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} weights, {1} x, m={2} n={3} k={4} bias={5}")
    @MethodSource("representableCases")
    void skinnyMatchesCpuToSummationOrder(DType wType, DType xType, int m, int n, int k, boolean withBias) {
        CudaBackend gpu = cuda();
        try (Tensor x = representable(21, wType, xType, m, k); Tensor xf = representable(21, wType, DType.F32, m, k);
             Tensor w = random(22, 0.05f, wType, n, k);
             Tensor bias = random(23, 0.1f, (m % 2 == 0) ? DType.F32 : wType, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(xf, w, withBias ? bias : null, expected);
            withSkinny("auto", null, () -> gpu.linear(gx, gw, withBias ? gb : null, out));
            assertClose("skinny " + wType + " x " + xType + " m=" + m + " n=" + n + " k=" + k + " bias=" + withBias,
                    expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /**
     * Raw F32 activations: the skinny path rounds them to the weights' dtype exactly as the cuBLASLt
     * path does, so the two agree to summation order, and both to the CPU within the rounding bound.
     */
    @ParameterizedTest(name = "{0} weights, m={1} n={2} k={3}")
    @CsvSource({"BF16, 74, 4096, 4096", "BF16, 33, 4864, 896", "F16, 74, 896, 4864", "F16, 128, 1024, 1024", "BF16, 9, 200, 64"})
    void skinnyRoundsF32ActivationsAsCublasLtDoes(DType wType, int m, int n, int k) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(31, 1f, DType.F32, m, k); Tensor w = random(32, 0.05f, wType, n, k);
             Tensor bias = random(33, 0.1f, DType.F32, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor skinny = gpu.allocate(DType.F32, m, n); Tensor lt = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, bias, expected);
            withSkinny("auto", null, () -> gpu.linear(gx, gw, gb, skinny));
            withSkinny("off", null, () -> gpu.linear(gx, gw, gb, lt));
            assertClose("skinny " + wType + " F32 x m=" + m + " n=" + n + " k=" + k + " vs CPU", expected, skinny,
                    wType == DType.F16 ? CudaTestSupport.GEMM_F16 : CudaTestSupport.GEMM_BF16);
            try (Tensor ltHost = gpu.download(lt)) {
                assertClose("skinny " + wType + " F32 x m=" + m + " n=" + n + " k=" + k + " vs cuBLASLt", ltHost, skinny,
                        CudaTestSupport.GEMM_F32);
            }
        }
    }

    /**
     * x as a column range of a wider matrix: 16-bit x at column 0 or 8 (rows 16-byte aligned, read in
     * place at the wide leading dimension), at column 1 (copied first); F32 x (rounded into a packed copy).
     */
    @ParameterizedTest(name = "{0} x, first column {1}")
    @CsvSource({"BF16, 0", "BF16, 8", "BF16, 1", "F32, 0", "F32, 3"})
    void skinnyReadsRowViewsOfAWiderMatrix(DType xType, int firstColumn) {
        CudaBackend gpu = cuda();
        int m = 40;
        int n = 520;
        int k = 896;
        int wide = 936;
        try (Tensor x = representable(41, DType.BF16, xType, m, wide); Tensor xf = representable(41, DType.BF16, DType.F32, m, wide);
             Tensor w = random(42, 0.05f, DType.BF16, n, k); Tensor bias = random(43, 0.1f, DType.BF16, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(xf.slice(1, firstColumn, firstColumn + k), w, bias, expected);
            withSkinny("auto", null, () -> gpu.linear(gx.slice(1, firstColumn, firstColumn + k), gw, gb, out));
            assertClose("skinny " + xType + " x view at column " + firstColumn, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /** Weights read from a wider matrix: at column 0 (aligned rows, the skinny kernel at ldw 4112), at column 1 (cuBLASLt). */
    @ParameterizedTest(name = "first column {0}")
    @CsvSource({"0", "1"})
    void skinnyReadsStridedWeightsOrFallsBack(int firstColumn) {
        CudaBackend gpu = cuda();
        int m = 74;
        int n = 515;
        int k = 4104;
        int ldw = 4112;
        try (Tensor x = representable(51, DType.BF16, DType.F32, m, k);
             Tensor wideW = random(52, 0.05f, DType.BF16, n, ldw);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(wideW);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, wideW.slice(1, firstColumn, firstColumn + k), null, expected);
            withSkinny("auto", null, () -> gpu.linear(gx, gw.slice(1, firstColumn, firstColumn + k), null, out));
            assertClose("skinny strided w column " + firstColumn, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /** k = 1001 (not a multiple of 8): cuBLASLt serves it whatever the mode, with the 16-bit rounding bound. */
    @Test
    void kNotAMultipleOf8TakesCublasLt() {
        CudaBackend gpu = cuda();
        int m = 20;
        int n = 300;
        int k = 1001;
        try (Tensor x = representable(61, DType.BF16, DType.F32, m, k); Tensor w = random(62, 0.05f, DType.BF16, n, k);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor auto = gpu.allocate(DType.F32, m, n); Tensor off = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, null, expected);
            withSkinny("auto", null, () -> gpu.linear(gx, gw, null, auto));
            withSkinny("off", null, () -> gpu.linear(gx, gw, null, off));
            assertClose("k=1001 auto", expected, auto, CudaTestSupport.GEMM_F32);
            assertBitIdentical("k=1001: auto takes the cuBLASLt path", gpu, off, auto);
        }
    }

    /** Forced k splits (-Dglimpse.cuda.skinnyGemm.splits): one slice writes out and adds the bias itself; 3 and 32 slices reduce. */
    @ParameterizedTest(name = "splits={0}")
    @CsvSource({"1", "3", "32"})
    void everyKSplitMatchesCpuToSummationOrder(int splits) {
        CudaBackend gpu = cuda();
        int m = 74;
        int n = 1000;
        int k = 4104;
        try (Tensor x = representable(91, DType.BF16, DType.F32, m, k); Tensor w = random(92, 0.05f, DType.BF16, n, k);
             Tensor bias = random(93, 0.1f, DType.F32, n);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, bias, expected);
            String before = System.getProperty(SkinnyGemmMode.SPLITS_PROPERTY);
            System.setProperty(SkinnyGemmMode.SPLITS_PROPERTY, Integer.toString(splits));
            try {
                withSkinny("auto", null, () -> gpu.linear(gx, gw, gb, out));
            } finally {
                restore(SkinnyGemmMode.SPLITS_PROPERTY, before);
            }
            assertClose("skinny m=74 n=1000 k=4104 splits=" + splits, expected, out, CudaTestSupport.GEMM_F32);
        }
    }

    /** The k split sums its partials in a fixed order: two runs, with another product between them, give the same bits. */
    @Test
    void splitKIsBitIdenticalRunToRun() {
        CudaBackend gpu = cuda();
        int m = 74;
        int n = 4096;
        int k = 11008;
        try (Tensor x = random(71, 1f, DType.F32, m, k); Tensor w = random(72, 0.05f, DType.BF16, n, k);
             Tensor bias = random(73, 0.1f, DType.F32, n);
             Tensor other = random(74, 0.05f, DType.BF16, 896, k);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias); Tensor gOther = gpu.upload(other);
             Tensor first = gpu.allocate(DType.F32, m, n); Tensor second = gpu.allocate(DType.F32, m, n);
             Tensor between = gpu.allocate(DType.F32, m, 896)) {
            withSkinny("auto", null, () -> {
                gpu.linear(gx, gw, gb, first);
                gpu.linear(gx, gOther, null, between);
                gpu.linear(gx, gw, gb, second);
            });
            assertBitIdentical("skinny m=74 n=4096 k=11008 run twice", gpu, first, second);
        }
    }

    /**
     * Rows outside the skinny range, or capped by -Dglimpse.cuda.skinnyGemm.maxRows, take the other
     * paths: the result equals mode off's bit for bit. m = 8 is the GEMV (F32 activations, so within
     * the F32 bound of the CPU, which no 16-bit path meets), m = 129 and m = 17 under maxRows=16 cuBLASLt.
     */
    @ParameterizedTest(name = "m={0} maxRows={1}")
    @CsvSource({"8, 128", "129, 128", "17, 16", "74, 8"})
    void rowsOutsideTheSkinnyRangeTakeTheOtherPaths(int m, int maxRows) {
        CudaBackend gpu = cuda();
        int n = 896;
        int k = 896;
        try (Tensor x = random(81, 1f, DType.F32, m, k); Tensor w = random(82, 0.05f, DType.BF16, n, k);
             Tensor expected = Tensor.allocate(DType.F32, m, n);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w);
             Tensor auto = gpu.allocate(DType.F32, m, n); Tensor off = gpu.allocate(DType.F32, m, n)) {
            CPU.linear(x, w, null, expected);
            withSkinny("auto", Integer.toString(maxRows), () -> gpu.linear(gx, gw, null, auto));
            withSkinny("off", null, () -> gpu.linear(gx, gw, null, off));
            assertClose("m=" + m + " maxRows=" + maxRows + " vs CPU", expected, auto,
                    m <= CudaGemm.GEMV_MAX_ROWS ? CudaTestSupport.GEMM_F32 : CudaTestSupport.GEMM_BF16);
            assertBitIdentical("m=" + m + " maxRows=" + maxRows + " takes the path of mode off", gpu, off, auto);
        }
    }

    /** Host x of xType holding random values rounded to wType (exact in xType when that is F32 or wType). */
    private static Tensor representable(long seed, DType wType, DType xType, int rows, int cols) {
        try (Tensor rounded = random(seed, 1f, wType, rows, cols)) {
            Tensor t = Tensor.allocate(xType, rows, cols);
            t.copyFrom(rounded.toFloatArray());
            return t;
        }
    }

    private static void assertBitIdentical(String label, CudaBackend gpu, Tensor expected, Tensor actual) {
        try (Tensor a = gpu.download(expected); Tensor b = gpu.download(actual)) {
            assertArrayEquals(a.toFloatArray(), b.toFloatArray(), label);
        }
    }

    /** Runs body with -Dglimpse.cuda.skinnyGemm=mode and maxRows (null: unset), then restores both properties. */
    private static void withSkinny(String mode, String maxRows, Runnable body) {
        String beforeMode = System.getProperty(SkinnyGemmMode.PROPERTY);
        String beforeRows = System.getProperty(SkinnyGemmMode.MAX_ROWS_PROPERTY);
        System.setProperty(SkinnyGemmMode.PROPERTY, mode);
        if (maxRows == null) {
            System.clearProperty(SkinnyGemmMode.MAX_ROWS_PROPERTY);
        } else {
            System.setProperty(SkinnyGemmMode.MAX_ROWS_PROPERTY, maxRows);
        }
        try {
            body.run();
        } finally {
            restore(SkinnyGemmMode.PROPERTY, beforeMode);
            restore(SkinnyGemmMode.MAX_ROWS_PROPERTY, beforeRows);
        }
    }

    private static void restore(String property, String value) {
        if (value == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, value);
        }
    }
}
