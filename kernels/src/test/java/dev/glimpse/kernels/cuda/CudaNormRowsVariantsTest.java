package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.timeline.KernelRecord;
import dev.glimpse.kernels.cuda.timeline.KernelTimeline;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import dev.glimpse.kernels.cuda.timeline.TimelineUnavailableException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.F32;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.runFromGraph;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * GPU-only: {@code -Dglimpse.cuda.normRows=staged|auto} ({@link NormRowsVariant}) stores exactly the bits of the
 * {@code v4} kernels through {@link CudaBackend#rmsNorm}, {@link CudaBackend#layerNorm} (with and
 * without beta) and {@link CudaBackend#layerNormTokenMajor}: at 1 row (decode), 74 (a Llama-7B prefill of 64
 * visual tokens), 577 (a CLIP-L/336 image) and 586 (LLaVA-1.5's full-image prompt); at widths through every float4
 * count per thread (1, 2, 4, 8: 64, 896, 1024, 1152, 4096, 4100 with a partial last pass, 8192) and the scalar
 * fallback all variants share (1001); F32, BF16 and F16 gamma and beta; F32, BF16 and F16 outputs. Each also
 * matches the CPU backend's F32 result (within their rounding for 16-bit outputs). Also: gamma and beta of
 * different types, the token-major LayerNorm, prefill PDL, and the launched kernels by name where CUPTI is usable.
 */
class CudaNormRowsVariantsTest {

    private static final int[] ROWS = {1, 74, 577, 586};
    private static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};
    private static final double HALF_VS_CPU = 1e-2;
    private static final List<NormRowsVariant> OTHERS = Arrays.stream(NormRowsVariant.values())
            .filter(v -> v != NormRowsVariant.V4).toList();

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {64, 896, 1001, 1024, 1152, 4096, 4100, 8192})
    void variantNormsStoreTheBitsOfTheV4Kernels(int n) {
        CudaBackend gpu = cuda();
        for (int rows : ROWS) {
            try (Tensor x = random(31 + rows, 3f, DType.F32, rows, n); Tensor gx = gpu.upload(x)) {
                for (DType g : TYPES) {
                    try (Tensor gamma = random(32, 1f, g, n); Tensor beta = random(33, 1f, g, n);
                         Tensor gg = gpu.upload(gamma); Tensor gb = gpu.upload(beta);
                         Tensor rms = Tensor.allocate(DType.F32, rows, n); Tensor layer = Tensor.allocate(DType.F32, rows, n);
                         Tensor layerNoBeta = Tensor.allocate(DType.F32, rows, n)) {
                        CPU.rmsNorm(x, gamma, 1e-6f, rms);
                        CPU.layerNorm(x, gamma, beta, 1e-5f, layer);
                        CPU.layerNorm(x, gamma, null, 1e-5f, layerNoBeta);
                        for (DType o : TYPES) {
                            String label = " n=" + n + " rows=" + rows + " gamma " + g + " out " + o;
                            double tol = o == DType.F32 ? F32 : HALF_VS_CPU;
                            String last = " " + OTHERS.getLast().id() + " vs CPU" + label;
                            try (Tensor v4 = gpu.allocate(o, rows, n);
                                 Tensor rmsOut = assertVariantsStoreV4Bits("rmsNorm" + label, v4,
                                         out -> gpu.rmsNorm(gx, gg, 1e-6f, out));
                                 Tensor layerOut = assertVariantsStoreV4Bits("layerNorm" + label, v4,
                                         out -> gpu.layerNorm(gx, gg, gb, 1e-5f, out));
                                 Tensor noBetaOut = assertVariantsStoreV4Bits("layerNorm no beta" + label, v4,
                                         out -> gpu.layerNorm(gx, gg, null, 1e-5f, out))) {
                                assertClose("rmsNorm" + last, rms, rmsOut, tol);
                                assertClose("layerNorm" + last, layer, layerOut, tol);
                                assertClose("layerNorm no beta" + last, layerNoBeta, noBetaOut, tol);
                            }
                        }
                    }
                }
            }
        }
    }

    /** A BF16 gamma with an F32 beta (each vector loaded by its own type). */
    @Test
    void layerNormWithGammaAndBetaOfDifferentTypesStoresTheSameBits() {
        CudaBackend gpu = cuda();
        int rows = 577;
        int n = 1024;
        try (Tensor x = random(41, 3f, DType.F32, rows, n); Tensor gamma = random(42, 1f, DType.BF16, n);
             Tensor beta = random(43, 1f, DType.F32, n); Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma);
             Tensor gb = gpu.upload(beta); Tensor v4 = gpu.allocate(DType.BF16, rows, n);
             Tensor expected = Tensor.allocate(DType.BF16, rows, n);
             Tensor other = assertVariantsStoreV4Bits("layerNorm gamma BF16 beta F32", v4,
                     out -> gpu.layerNorm(gx, gg, gb, 1e-5f, out))) {
            CPU.layerNorm(x, gamma, beta, 1e-5f, expected);
            assertClose("layerNorm gamma BF16 beta F32 " + OTHERS.getLast().id() + " vs CPU", expected, other, HALF_VS_CPU);
        }
    }

    /** layerNormTokenMajor's variant kernels ({@code layer_norm_rows_<variant>_<VPT>_token_major}) against v4's. */
    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {64, 1001, 1024, 1152, 4100})
    void tokenMajorVariantsStoreTheBitsOfV4(int n) {
        CudaBackend gpu = cuda();
        int batch = 2;
        int tokens = 577;
        for (DType o : TYPES) {
            String label = " n=" + n + " out " + o;
            try (Tensor x = random(51, 3f, DType.F32, batch, tokens, n); Tensor gamma = random(52, 1f, DType.BF16, n);
                 Tensor beta = random(53, 1f, DType.BF16, n); Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma);
                 Tensor gb = gpu.upload(beta); Tensor v4 = gpu.allocate(o, tokens, batch, n);
                 Tensor expected = Tensor.allocate(o, tokens, batch, n);
                 Tensor other = assertVariantsStoreV4Bits("layerNormTokenMajor" + label, v4,
                         out -> gpu.layerNormTokenMajor(gx, gg, gb, 1e-6f, out))) {
                CPU.layerNormTokenMajor(x, gamma, beta, 1e-6f, expected);
                assertClose("layerNormTokenMajor " + OTHERS.getLast().id() + " vs CPU" + label, expected, other,
                        o == DType.F32 ? F32 : HALF_VS_CPU);
            }
        }
    }

    /**
     * Under {@code -Dglimpse.cuda.pdlPrefill=true} the variants' kernels start while the kernel before them may still
     * run; their wait (first statement) keeps them from reading its output early: a graph that overwrites x with
     * zeros, then with 2x, then normalises it (as LLaVA's 74 rows of 4096 and CLIP's 577 of 1024) stores the bits of
     * v4 on 2x launched plainly.
     */
    @ParameterizedTest(name = "rows={0} n={1}")
    @CsvSource({"74, 4096", "577, 1024"})
    void variantNormsUnderPrefillPdlReadTheirPredecessorsOutput(int rows, int n) {
        CudaBackend gpu = cuda();
        try (Tensor x = random(71, 1f, DType.F32, rows, n); Tensor gamma = random(72, 1f, DType.BF16, n);
             Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma); Tensor doubled = gpu.allocate(DType.F32, rows, n);
             Tensor v4 = gpu.allocate(DType.BF16, 2, rows, n)) {
            gpu.scale(gx, 2f, doubled);
            withProperty(NormRowsVariant.PROPERTY, NormRowsVariant.V4.id(), () -> {
                gpu.rmsNorm(doubled, gg, 1e-6f, v4.select(0, 0));
                gpu.layerNorm(doubled, gg, gg, 1e-5f, v4.select(0, 1));
            });
            for (NormRowsVariant variant : OTHERS) {
                try (Tensor pdl = gpu.allocate(DType.BF16, 2, rows, n)) {
                    withProperties(Map.of(NormRowsVariant.PROPERTY, variant.id(), CudaBackend.PDL_PREFILL_PROPERTY, "true"),
                            () -> {
                                runFromGraph(() -> {
                                    gpu.scale(gx, 0f, doubled);
                                    gpu.scale(gx, 2f, doubled);
                                    gpu.rmsNorm(doubled, gg, 1e-6f, pdl.select(0, 0));
                                    gpu.layerNorm(doubled, gg, gg, 1e-5f, pdl.select(0, 1));
                                });
                                return null;
                            });
                    assertBitsEqual(variant.id() + " norms under prefill PDL vs v4 rows=" + rows + " n=" + n, v4, pdl);
                }
            }
        }
    }

    /**
     * The property reaches the launch (skipped without CUPTI): at 74 rows of 4096, v4 and staged launch their own
     * kernels and auto staged RMSNorm with v4 LayerNorm; at 1025 rows auto launches v4 for both.
     */
    @Test
    void eachVariantLaunchesItsOwnKernels() {
        CudaBackend gpu = cuda();
        int n = 4096;
        try (Tensor gamma = random(62, 1f, DType.BF16, n); Tensor gg = gpu.upload(gamma); KernelTimeline timeline = timeline()) {
            assertEquals(List.of("rms_norm_rows_v4_4", "layer_norm_rows_v4_4"),
                    launched(gpu, timeline, NormRowsVariant.V4, 74, gg), "v4 at 74 rows");
            assertEquals(List.of("rms_norm_rows_staged_4", "layer_norm_rows_staged_4"),
                    launched(gpu, timeline, NormRowsVariant.STAGED, 74, gg), "staged at 74 rows");
            assertEquals(List.of("rms_norm_rows_staged_4", "layer_norm_rows_v4_4"),
                    launched(gpu, timeline, NormRowsVariant.AUTO, 74, gg), "auto at 74 rows");
            assertEquals(List.of("rms_norm_rows_v4_4", "layer_norm_rows_v4_4"),
                    launched(gpu, timeline, NormRowsVariant.AUTO, 1025, gg), "auto at 1025 rows");
        }
    }

    /** The kernels an rmsNorm then a layerNorm of rows x n (gamma's n) launch under variant, recorded after a warm-up call. */
    private static List<String> launched(CudaBackend gpu, KernelTimeline timeline, NormRowsVariant variant, int rows,
                                         Tensor gamma) {
        int n = gamma.dim(0);
        try (Tensor x = random(61, 1f, DType.F32, rows, n); Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.BF16, rows, n)) {
            Runnable norms = () -> {
                gpu.rmsNorm(gx, gamma, 1e-6f, out);
                gpu.layerNorm(gx, gamma, gamma, 1e-5f, out);
            };
            PassTimeline[] recorded = new PassTimeline[1];
            withProperty(NormRowsVariant.PROPERTY, variant.id(), () -> {
                norms.run();
                recorded[0] = timeline.record(variant.id() + " " + rows, gpu::synchronize, norms);
            });
            return recorded[0].kernels().stream().map(KernelRecord::name).toList();
        }
    }

    /**
     * Runs {@code norm} into {@code v4} under v4 (stated explicitly, whatever the JVM was started with), then under
     * each other variant into a fresh zero-filled tensor (so a kernel that stored nothing cannot pass on an earlier
     * variant's values), and asserts each stores v4's bits; returns the last variant's output, on the host as F32.
     */
    private static Tensor assertVariantsStoreV4Bits(String label, Tensor v4, Consumer<Tensor> norm) {
        CudaBackend gpu = cuda();
        withProperty(NormRowsVariant.PROPERTY, NormRowsVariant.V4.id(), () -> norm.accept(v4));
        float[] expected = host(v4);
        float[] actual = null;
        for (NormRowsVariant variant : OTHERS) {
            try (Tensor out = gpu.allocate(v4.dtype(), v4.shape())) {
                withProperty(NormRowsVariant.PROPERTY, variant.id(), () -> norm.accept(out));
                actual = host(out);
            }
            assertArrayEquals(expected, actual, label + " " + variant.id() + " vs v4");
        }
        return Tensor.of(actual, v4.shape());
    }

    private static KernelTimeline timeline() {
        try {
            return KernelTimeline.start();
        } catch (TimelineUnavailableException e) {
            Assumptions.abort("CUPTI is not usable here, the launched kernels' names are not checked: " + e.getMessage());
            throw e;
        }
    }
}
