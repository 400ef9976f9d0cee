package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Map;
import java.util.function.BiConsumer;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.headMajorCache;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaAttentionTest {

    private static final double TOL = 1e-4;
    /**
     * BF16 precision against the CPU's F32 attention on the same N(0, 1) inputs. Rounding q and k
     * to bf16 (relative error up to 2^-9 each) moves a score q.k/sqrt(D) by ~2^-9 (rms over D
     * products of unit variance); rounding v and the probabilities moves an output by at most 2^-9
     * of the largest |v| it averages, which is where the error peaks: rows that see few keys (the
     * first causal queries) copy a single v rounded to bf16. So expect up to ~4e-3 of max |out|, and
     * 2e-2 leaves room for the largest of a million outputs; a fragment-layout or masking bug moves
     * outputs by their own size (1e-1 and up), far past it.
     */
    private static final double BF16_TOL = 2e-2;
    /** The same bound for f16, whose 11-bit mantissa rounds 8x finer (2^-12): ~5e-4 expected. */
    private static final double F16_TOL = 3e-3;
    /**
     * On inputs already representable in bf16 (so the kernel's rounding of q, k and v is exact) the
     * only rounding left is the probabilities', each by at most 2^-9 relative (the row sum stays
     * F32), which moves an output by at most 2^-9 times the probability-weighted mean |v| of its row
     * (~0.8 for N(0, 1) values, so ~1.6e-3), and only if every rounding goes the same way; over many
     * keys the errors cancel. 6e-3 is several times that; the shapes' outputs are normalised by
     * max(1, max |out|) as everywhere here.
     */
    private static final double BF16_EXACT_INPUT_TOL = 6e-3;
    /** The same for f16-representable inputs: 2^-12 x 0.8 ~ 2e-4, with the same margin. */
    private static final double F16_EXACT_INPUT_TOL = 8e-4;

    @ParameterizedTest(name = "T={0} S={1} Hq={2} Hkv={3} D={4} causal={5} start={6}")
    @CsvSource({
            "577, 577, 16, 16, 64, false, 0",
            "50, 50, 16, 16, 72, false, 0",
            "37, 37, 14, 2, 64, true, 0",
            "1, 300, 14, 2, 64, true, 299",
            "5, 133, 32, 8, 128, true, 128",
            "729, 729, 16, 16, 72, false, 0",
            "729, 729, 128, 128, 72, false, 0",
            "300, 1000, 14, 2, 64, true, 700",
            "70, 198, 32, 8, 128, true, 128",
            "100, 100, 8, 8, 128, false, 0",
            "17, 90, 4, 1, 40, true, 73",
            "3, 17, 4, 4, 256, false, 0"})
    void attentionMatchesCpu(int t, int s, int hq, int hkv, int d, boolean causal, int start) {
        attentionVsCpu(1, AttentionPrecision.F32, TOL, "attention", t, s, hq, hkv, d, causal, start, false).close();
    }

    /**
     * The 16-bit mma kernels at both precisions: SigLIP's D=72 (OneVision's tower, images as
     * heads), CLIP's D=64, D=80, Qwen2's GQA 7:1 prefill and a chunk after a KV prefix,
     * LLaVA-1.5-7B's D=128 (causal, and after a prefix with GQA), a head dim padded from 40, one of
     * 38 (not a multiple of 4: scalar tile loads, scalar output stores past an odd pair), the
     * fixtures' D=16 at the smallest query count the tensor cores take, and query and key counts
     * that are not multiples of the 64-wide tiles (including fewer keys than one tile).
     */
    @ParameterizedTest(name = "{0} T={1} S={2} Hq={3} Hkv={4} D={5} causal={6} start={7}")
    @CsvSource({
            "BF16, 729, 729, 32, 32, 72, false, 0",
            "BF16, 577, 577, 16, 16, 64, false, 0",
            "BF16, 100, 100, 8, 8, 80, false, 0",
            "BF16, 1200, 1200, 14, 2, 64, true, 0",
            "BF16, 300, 1000, 14, 2, 64, true, 700",
            "BF16, 586, 586, 32, 32, 128, true, 0",
            "BF16, 70, 198, 32, 8, 128, true, 128",
            "BF16, 17, 90, 4, 1, 40, true, 73",
            "BF16, 130, 130, 6, 3, 38, true, 0",
            "BF16, 16, 16, 4, 2, 16, true, 0",
            "BF16, 200, 77, 8, 4, 64, false, 0",
            "BF16, 100, 30, 4, 4, 80, false, 0",
            "BF16, 131, 259, 6, 2, 128, true, 128",
            "F16, 729, 729, 32, 32, 72, false, 0",
            "F16, 577, 577, 16, 16, 64, false, 0",
            "F16, 100, 100, 8, 8, 80, false, 0",
            "F16, 1200, 1200, 14, 2, 64, true, 0",
            "F16, 300, 1000, 14, 2, 64, true, 700",
            "F16, 586, 586, 32, 32, 128, true, 0",
            "F16, 70, 198, 32, 8, 128, true, 128",
            "F16, 17, 90, 4, 1, 40, true, 73",
            "F16, 130, 130, 6, 3, 38, true, 0",
            "F16, 16, 16, 4, 2, 16, true, 0",
            "F16, 200, 77, 8, 4, 64, false, 0",
            "F16, 100, 30, 4, 4, 80, false, 0",
            "F16, 131, 259, 6, 2, 128, true, 128"})
    void halfPrecisionAttentionMatchesCpuWithinRounding(AttentionPrecision precision, int t, int s, int hq, int hkv, int d,
                                                        boolean causal, int start) {
        finiteAttentionVsCpu(21, precision, halfTol(precision, false), precision + " attention", t, s, hq, hkv, d,
                causal, start, false);
    }

    /**
     * The 16-bit kernel in every block shape ({@link AttentionMmaWarps}: 4 and 8 warps of 16 queries,
     * 4 warps of two 16-query tiles; whatever the shape would pick) against the CPU: GQA after a
     * prefix, SigLIP's D=72 (padded to 80: the two-tile kernel's queries in shared memory), CLIP's
     * D=64 (its queries in registers), D=128 after a prefix, D=38 (scalar loads) and 40 (padded), D=16
     * at 16 queries, fewer keys than one tile, query counts that leave partial 64- and 128-query
     * blocks (257: a last block of one query, whose other warps hold none), and causal grids of many
     * blocks over several heads (the two-tile kernel launches them longest first, across heads).
     */
    @ParameterizedTest(name = "{0} {1} T={2} S={3} Hq={4} Hkv={5} D={6} causal={7} start={8}")
    @CsvSource({
            "w8, BF16, 300, 1000, 14, 2, 64, true, 700",
            "w8, F16, 729, 729, 16, 16, 72, false, 0",
            "w8, BF16, 131, 259, 6, 2, 128, true, 128",
            "w8, F16, 130, 130, 6, 3, 38, true, 0",
            "w8, BF16, 17, 90, 4, 1, 40, true, 73",
            "w8, F16, 16, 16, 4, 2, 16, true, 0",
            "w8, BF16, 200, 77, 8, 4, 64, false, 0",
            "w8, F16, 586, 586, 8, 8, 128, true, 0",
            "w4, BF16, 300, 1000, 14, 2, 64, true, 700",
            "w4, F16, 729, 729, 16, 16, 72, false, 0",
            "w4, BF16, 131, 259, 6, 2, 128, true, 128",
            "w4, F16, 130, 130, 6, 3, 38, true, 0",
            "w4, BF16, 100, 30, 4, 4, 80, false, 0",
            "w4, F16, 586, 586, 8, 8, 128, true, 0",
            "w4x2, BF16, 300, 1000, 14, 2, 64, true, 700",
            "w4x2, F16, 300, 1000, 14, 2, 64, true, 700",
            "w4x2, BF16, 1200, 1200, 14, 2, 64, true, 0",
            "w4x2, F16, 729, 729, 16, 16, 72, false, 0",
            "w4x2, BF16, 729, 729, 32, 32, 72, false, 0",
            "w4x2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w4x2, BF16, 131, 259, 6, 2, 128, true, 128",
            "w4x2, F16, 586, 586, 8, 8, 128, true, 0",
            "w4x2, BF16, 100, 100, 8, 8, 128, false, 0",
            "w4x2, F16, 130, 130, 6, 3, 38, true, 0",
            "w4x2, BF16, 17, 90, 4, 1, 40, true, 73",
            "w4x2, F16, 16, 16, 4, 2, 16, true, 0",
            "w4x2, BF16, 200, 77, 8, 4, 64, false, 0",
            "w4x2, F16, 100, 30, 4, 4, 80, false, 0",
            "w4x2, BF16, 100, 100, 8, 8, 80, false, 0",
            "w4x2, BF16, 257, 257, 3, 1, 64, true, 0",
            "w4x2, F16, 129, 500, 4, 2, 80, true, 371",
            "w4x2, BF16, 385, 385, 5, 5, 128, true, 0"})
    void mmaKernelOfEveryBlockShapeMatchesCpuWithinRounding(String warps, AttentionPrecision precision, int t, int s,
                                                              int hq, int hkv, int d, boolean causal, int start) {
        withMmaWarps(warps, () -> finiteAttentionVsCpu(61, precision, halfTol(precision, false),
                warps + " " + precision + " attention", t, s, hq, hkv, d, causal, start, false));
    }

    /**
     * The two-tile kernel does the 16-row kernels' arithmetic row for row (same tile order, same mma
     * accumulation order, same softmax steps; it only adds fully masked tiles for some rows, which
     * leave a row's state unchanged), so its output matches the 8-warp kernel's far inside the
     * rounding bounds: expected bit for bit, asserted within 1e-5 of max(1, max |out|), where a
     * wrong key, dim, row or rescale would move outputs by 1e-3 and more.
     */
    @ParameterizedTest(name = "{0} T={1} S={2} Hq={3} Hkv={4} D={5} causal={6} start={7}")
    @CsvSource({
            "BF16, 1200, 1200, 14, 2, 64, true, 0",
            "F16, 300, 1000, 14, 2, 64, true, 700",
            "BF16, 729, 729, 16, 16, 72, false, 0",
            "F16, 586, 586, 8, 8, 128, true, 0",
            "BF16, 131, 259, 6, 2, 128, true, 128",
            "F16, 130, 130, 6, 3, 38, true, 0",
            "BF16, 200, 77, 8, 4, 64, false, 0",
            "BF16, 257, 257, 3, 1, 64, true, 0"})
    void twoTileKernelMatchesTheEightWarpKernel(AttentionPrecision precision, int t, int s, int hq, int hkv, int d,
                                                boolean causal, int start) {
        assertAgrees(CudaAttentionTest::withMmaWarps, "w4x2", "w8", "w8", 91, precision, 1e-5, t, s, hq, hkv, d, causal,
                start);
    }

    /**
     * The small-grid shapes ({@link AttentionSmallGrid}, forced in place of {@code w4}) against the CPU:
     * CLIP-L/336 on one and two images (577 tokens, 16 or 32 heads of dim 64), SigLIP on one and two
     * images (729 tokens, dim 72 padded to 80), odd token counts (50, 257: partial 32-query blocks
     * and a last key tile of one key, which the second key-split warp of the last round lacks), fewer
     * keys than one tile (the second key-split warp sees none), GQA causal after a prefix (rows whose
     * visible keys end in either warp's tiles) and D = 128, 38 (auto at D 72 is w2s2b1). The single-round key-split
     * shapes ({@code w2s2b1}, {@code w2s4b1}) on the same cases plus Llama-7B's and Qwen2-0.5B's 74-row causal
     * prefills, 17 rows (the second query warp holds one row), a single key and a single query (the SIMT kernel,
     * whatever the property): 1000 keys are 16 key tiles, 4 rounds of {@code s4} and 8 of {@code s2}, so every
     * round's refill behind its barrier is exercised.
     */
    @ParameterizedTest(name = "{0} {1} T={2} S={3} Hq={4} Hkv={5} D={6} causal={7} start={8}")
    @CsvSource({
            "w2s2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2, BF16, 577, 577, 32, 32, 64, false, 0",
            "w2s2, F16, 577, 577, 16, 16, 64, false, 0",
            "w2s2, BF16, 729, 729, 16, 16, 72, false, 0",
            "w2s2, F16, 729, 729, 32, 32, 72, false, 0",
            "w2s2, BF16, 50, 50, 16, 16, 64, false, 0",
            "w2s2, BF16, 257, 257, 16, 16, 64, false, 0",
            "w2s2, F16, 257, 257, 3, 1, 64, true, 0",
            "w2s2, BF16, 300, 1000, 14, 2, 64, true, 700",
            "w2s2, F16, 100, 30, 4, 4, 80, false, 0",
            "w2s2, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2, F16, 130, 130, 6, 3, 38, true, 0",
            "w2s2, BF16, 16, 16, 4, 2, 16, true, 0",
            "w2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2, F16, 729, 729, 16, 16, 72, false, 0",
            "w2, BF16, 257, 257, 3, 1, 64, true, 0",
            "w2, F16, 131, 259, 6, 2, 128, true, 128",
            "w2, BF16, 50, 50, 16, 16, 64, false, 0",
            "auto, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2b1, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2b1, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s2b1, BF16, 257, 257, 3, 1, 64, true, 0",
            "w2s2b1, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s2b1, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2b1, BF16, 74, 74, 32, 32, 128, true, 0",
            "w2s2b1, F16, 74, 74, 14, 2, 64, true, 0",
            "w2s2b1, F16, 17, 17, 4, 2, 128, true, 0",
            "w2s2b1, BF16, 17, 1, 4, 4, 64, false, 0",
            "w2s2b1, F16, 100, 30, 4, 4, 80, false, 0",
            "w2s2b1, BF16, 130, 130, 6, 3, 38, true, 0",
            "w2s4b1, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s4b1, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s4b1, BF16, 257, 257, 3, 1, 64, true, 0",
            "w2s4b1, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s4b1, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s4b1, BF16, 74, 74, 32, 32, 128, true, 0",
            "w2s4b1, F16, 74, 74, 14, 2, 64, true, 0",
            "w2s4b1, F16, 17, 17, 4, 2, 128, true, 0",
            "w2s4b1, BF16, 17, 1, 4, 4, 64, false, 0",
            "w2s4b1, F16, 100, 30, 4, 4, 80, false, 0",
            "w2s4b1, BF16, 130, 130, 6, 3, 38, true, 0",
            "w2s4b1, F16, 1, 300, 4, 2, 128, true, 299",
            "auto, F16, 729, 729, 16, 16, 72, false, 0"})
    void smallGridShapesMatchCpuWithinRounding(String shape, AttentionPrecision precision, int t, int s, int hq,
                                               int hkv, int d, boolean causal, int start) {
        withSmallGrid(shape, () -> finiteAttentionVsCpu(71, precision, halfTol(precision, false),
                shape + " " + precision + " attention", t, s, hq, hkv, d, causal, start, false));
    }

    /**
     * The small-grid shapes against the 4-warp kernel they replace: {@code w2} does its arithmetic row
     * for row (expected bit for bit, asserted within 1e-5 of max(1, max |out|), as the two-tile
     * kernel's check); {@code w2s2} and the single-round {@code _b1} shapes sum their key groups' partials in
     * another order, so within the 16-bit tolerance of the CPU comparison, which a wrong key, row or merge
     * factor exceeds.
     */
    @ParameterizedTest(name = "{0} {1} T={2} S={3} Hq={4} Hkv={5} D={6} causal={7} start={8}")
    @CsvSource({
            "w2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2, F16, 729, 729, 16, 16, 72, false, 0",
            "w2, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2, BF16, 577, 577, 32, 32, 64, false, 0",
            "w2s2, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s2, BF16, 257, 257, 16, 16, 64, false, 0",
            "w2s2, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s2, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2b1, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2b1, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s2b1, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s2b1, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2b1, BF16, 74, 74, 32, 32, 128, true, 0",
            "w2s2b1, F16, 17, 17, 4, 2, 64, true, 0",
            "w2s4b1, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s4b1, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s4b1, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s4b1, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s4b1, BF16, 74, 74, 32, 32, 128, true, 0",
            "w2s4b1, F16, 17, 17, 4, 2, 64, true, 0"})
    void smallGridShapesMatchTheFourWarpKernel(String shape, AttentionPrecision precision, int t, int s, int hq, int hkv,
                                               int d, boolean causal, int start) {
        assertAgrees(CudaAttentionTest::withSmallGrid, shape, "off", "w4", 95, precision,
                shape.equals("w2") ? 1e-5 : halfTol(precision, false), t, s, hq, hkv, d, causal, start);
    }

    /**
     * The single-round {@code w2s2b1} does the arithmetic of the double-buffered {@code w2s2} row for row (key warp g
     * of a query warp walks key tiles g, g + 2, ...; the same merge): expected bit for bit, asserted within 1e-5 of
     * max(1, max |out|) as {@code w2} against {@code w4}. Several rounds (1000 keys: 8), partial blocks, causal after
     * a prefix, CLIP and SigLIP.
     */
    @ParameterizedTest(name = "{0} vs {1} {2} T={3} S={4} Hq={5} Hkv={6} D={7} causal={8} start={9}")
    @CsvSource({
            "w2s2b1, w2s2, BF16, 577, 577, 16, 16, 64, false, 0",
            "w2s2b1, w2s2, F16, 729, 729, 16, 16, 72, false, 0",
            "w2s2b1, w2s2, BF16, 131, 259, 6, 2, 128, true, 128",
            "w2s2b1, w2s2, F16, 300, 1000, 14, 2, 64, true, 700",
            "w2s2b1, w2s2, F16, 74, 74, 32, 32, 128, true, 0"})
    void singleRoundShapesMatchTheDoubleBufferedKeySplitRowForRow(String shape, String reference,
                                                                   AttentionPrecision precision, int t, int s, int hq,
                                                                   int hkv, int d, boolean causal, int start) {
        assertAgrees(CudaAttentionTest::withSmallGrid, shape, reference, reference, 98, precision, 1e-5, t, s, hq, hkv,
                d, causal, start);
    }

    /**
     * The two-tile kernel on inputs representable in the 16-bit type, where only the probabilities'
     * rounding separates it from the CPU (the tight bound of
     * {@link #halfPrecisionAttentionOnRepresentableInputsOnlyRoundsProbabilities}).
     */
    @ParameterizedTest(name = "{0} T={1} S={2} Hq={3} Hkv={4} D={5} causal={6} start={7}")
    @CsvSource({
            "BF16, 1200, 1200, 14, 2, 64, true, 0",
            "F16, 300, 1000, 14, 2, 64, true, 700",
            "BF16, 729, 729, 16, 16, 72, false, 0",
            "F16, 586, 586, 8, 8, 128, true, 0",
            "BF16, 130, 130, 6, 3, 38, true, 0",
            "F16, 16, 16, 4, 2, 16, true, 0",
            "BF16, 200, 77, 8, 4, 64, false, 0"})
    void twoTileKernelOnRepresentableInputsOnlyRoundsProbabilities(AttentionPrecision precision, int t, int s, int hq,
                                                                    int hkv, int d, boolean causal, int start) {
        withMmaWarps("w4x2", () -> finiteAttentionVsCpu(41, precision, halfTol(precision, true),
                "w4x2 " + precision + " attention, exact inputs", t, s, hq, hkv, d, causal, start, true));
    }

    /**
     * The 16-bit kernel folds the scale into its row max, which needs a positive scale; a zero or
     * negative one runs the F32 (3xTF32) kernel at BF16 and F16 precision too: its output bit for
     * bit, and the CPU's within the F32 bound. Scale 0 gives every visible key the same weight.
     */
    @ParameterizedTest(name = "{0} scale={1}")
    @CsvSource({"BF16, -0.125", "F16, -0.125", "BF16, 0", "F16, 0"})
    void nonPositiveScaleRunsTheF32KernelAtHalfPrecision(AttentionPrecision precision, float scale) {
        CudaBackend gpu = cuda();
        int t = 130;
        try (Tensor q = random(81, t, 6, 64); Tensor k = random(82, t, 2, 64); Tensor v = random(83, t, 2, 64);
             Tensor expected = Tensor.allocate(DType.F32, t, 6, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, t, 6, 64); Tensor asked = gpu.allocate(DType.F32, t, 6, 64)) {
            CPU.attention(q, k, v, AttentionMask.causal(0), scale, expected, null);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), scale, exact, null, null, AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), scale, asked, null, null, precision);
            assertArrayEquals(hostValues(gpu, exact), hostValues(gpu, asked), precision + " output vs the F32 kernel's");
            assertClose(precision + " attention at scale " + scale + " vs CPU", expected, asked, TOL);
        }
    }

    /**
     * Runs {@code body} with {@link AttentionSmallGrid#PROPERTY} set to {@code shape} and
     * {@link AttentionMmaWarps#PROPERTY} to {@code w4} (the shape it replaces), then restores both.
     */
    private static void withSmallGrid(String shape, Runnable body) {
        CudaTestSupport.withProperties(Map.of(AttentionSmallGrid.PROPERTY, shape, AttentionMmaWarps.PROPERTY, "w4"), () -> {
            body.run();
            return null;
        });
    }

    /** Runs {@code body} with {@link AttentionMmaWarps#PROPERTY} set to {@code warps}, then restores it. */
    private static void withMmaWarps(String warps, Runnable body) {
        String previous = System.getProperty(AttentionMmaWarps.PROPERTY);
        System.setProperty(AttentionMmaWarps.PROPERTY, warps);
        try {
            body.run();
        } finally {
            if (previous == null) {
                System.clearProperty(AttentionMmaWarps.PROPERTY);
            } else {
                System.setProperty(AttentionMmaWarps.PROPERTY, previous);
            }
        }
    }

    /**
     * The same shapes with q, k and v already representable in the 16-bit type: only the
     * probabilities' rounding separates the kernel from the CPU, so the bound is several times
     * tighter and a subtly wrong fragment (a swapped key or dim pair) cannot hide in it.
     */
    @ParameterizedTest(name = "{0} T={1} S={2} Hq={3} Hkv={4} D={5} causal={6} start={7}")
    @CsvSource({
            "BF16, 729, 729, 16, 16, 72, false, 0",
            "BF16, 1200, 1200, 14, 2, 64, true, 0",
            "BF16, 300, 1000, 14, 2, 64, true, 700",
            "BF16, 586, 586, 8, 8, 128, true, 0",
            "BF16, 100, 100, 8, 8, 80, false, 0",
            "BF16, 130, 130, 6, 3, 38, true, 0",
            "BF16, 16, 16, 4, 2, 16, true, 0",
            "BF16, 200, 77, 8, 4, 64, false, 0",
            "F16, 729, 729, 16, 16, 72, false, 0",
            "F16, 1200, 1200, 14, 2, 64, true, 0",
            "F16, 300, 1000, 14, 2, 64, true, 700",
            "F16, 586, 586, 8, 8, 128, true, 0",
            "F16, 100, 100, 8, 8, 80, false, 0",
            "F16, 130, 130, 6, 3, 38, true, 0",
            "F16, 16, 16, 4, 2, 16, true, 0",
            "F16, 200, 77, 8, 4, 64, false, 0"})
    void halfPrecisionAttentionOnRepresentableInputsOnlyRoundsProbabilities(AttentionPrecision precision, int t, int s,
                                                                            int hq, int hkv, int d, boolean causal,
                                                                            int start) {
        finiteAttentionVsCpu(41, precision, halfTol(precision, true), precision + " attention, exact inputs", t, s,
                hq, hkv, d, causal, start, true);
    }

    private static double halfTol(AttentionPrecision precision, boolean representableInputs) {
        return switch (precision) {
            case BF16 -> representableInputs ? BF16_EXACT_INPUT_TOL : BF16_TOL;
            case F16 -> representableInputs ? F16_EXACT_INPUT_TOL : F16_TOL;
            case F32 -> TOL;
        };
    }

    /**
     * Random q, k, v (seeds {@code seed}, +1, +2; rounded to {@code precision}'s 16-bit type when
     * {@code representable}) through the CPU and the CUDA backend at {@code precision}; the outputs
     * agree within {@code tol}. Returns the GPU output, which the caller closes.
     */
    private Tensor attentionVsCpu(int seed, AttentionPrecision precision, double tol, String label, int t, int s,
                                  int hq, int hkv, int d, boolean causal, int start, boolean representable) {
        CudaBackend gpu = cuda();
        AttentionMask mask = causal ? AttentionMask.causal(start) : AttentionMask.BIDIRECTIONAL;
        float scale = (float) (1 / Math.sqrt(d));
        Tensor out = gpu.allocate(DType.F32, t, hq, d);
        try (Tensor q = inputs(seed, precision, representable, t, hq, d);
             Tensor k = inputs(seed + 1, precision, representable, s, hkv, d);
             Tensor v = inputs(seed + 2, precision, representable, s, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v)) {
            CPU.attention(q, k, v, mask, scale, expected, null);
            gpu.attention(gq, gk, gv, mask, scale, out, null, null, precision);
            assertClose(label + " T=" + t + " S=" + s + " Hq=" + hq + " Hkv=" + hkv + " D=" + d + (causal ? " causal" : " bidir"),
                    expected, out, tol);
            return out;
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
    }

    /** {@link #attentionVsCpu}, then its GPU output must be finite (under the same label); closes it. */
    private void finiteAttentionVsCpu(int seed, AttentionPrecision precision, double tol, String label, int t, int s,
                                      int hq, int hkv, int d, boolean causal, int start, boolean representable) {
        try (Tensor out = attentionVsCpu(seed, precision, tol, label, t, s, hq, hkv, d, causal, start, representable)) {
            assertFinite(out, label);
        }
    }

    /**
     * Random q, k, v (seeds {@code seed}, +1, +2) through the CUDA backend at {@code precision} twice, first with
     * {@code with} picking the {@code reference} kernel setting, then the {@code shape} one: the second output agrees
     * with the first within {@code tol} (labelled "shape vs referenceName") and is finite.
     */
    private static void assertAgrees(BiConsumer<String, Runnable> with, String shape, String reference,
                                     String referenceName, int seed, AttentionPrecision precision, double tol, int t,
                                     int s, int hq, int hkv, int d, boolean causal, int start) {
        CudaBackend gpu = cuda();
        AttentionMask mask = causal ? AttentionMask.causal(start) : AttentionMask.BIDIRECTIONAL;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(seed, t, hq, d); Tensor k = random(seed + 1, s, hkv, d);
             Tensor v = random(seed + 2, s, hkv, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor referenceOut = gpu.allocate(DType.F32, t, hq, d);
             Tensor shapeOut = gpu.allocate(DType.F32, t, hq, d)) {
            with.accept(reference, () -> gpu.attention(gq, gk, gv, mask, scale, referenceOut, null, null, precision));
            with.accept(shape, () -> gpu.attention(gq, gk, gv, mask, scale, shapeOut, null, null, precision));
            try (Tensor expected = gpu.download(referenceOut)) {
                assertClose(shape + " vs " + referenceName + " " + precision + " T=" + t + " S=" + s + " Hq=" + hq
                        + " Hkv=" + hkv + " D=" + d, expected, shapeOut, tol);
            }
            assertFinite(shapeOut, shape + " " + precision + " attention");
        }
    }

    /** N(0, 1) values, rounded to the precision's 16-bit type when {@code representable}. */
    private static Tensor inputs(int seed, AttentionPrecision precision, boolean representable, int... shape) {
        Tensor t = random(seed, shape);
        if (representable) {
            float[] values = t.toFloatArray();
            for (int i = 0; i < values.length; i++) {
                values[i] = roundTo(precision, values[i]);
            }
            t.copyFrom(values);
        }
        return t;
    }

    /** x rounded to nearest (ties to even) in precision's 16-bit type, as the kernels' conversions round. */
    private static float roundTo(AttentionPrecision precision, float x) {
        return switch (precision) {
            case BF16 -> {
                int bits = Float.floatToRawIntBits(x);
                yield Float.intBitsToFloat((bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000);
            }
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(x));
            case F32 -> x;
        };
    }

    private static void assertFinite(Tensor gpuOut, String label) {
        float[] values = hostValues(cuda(), gpuOut);
        for (int i = 0; i < values.length; i++) {
            int index = i;
            assertTrue(Float.isFinite(values[i]), () -> label + ": output " + index + " is " + values[index]);
        }
    }

    /**
     * A prefill chunk after a prefix at both 16-bit precisions, over the decoder's cache layout
     * [Hkv, capacity, D] viewed as [S, Hkv, D] (row stride D, head stride capacity * D).
     */
    @ParameterizedTest(name = "{0} {1} Hq={2} Hkv={3} D={4}")
    @CsvSource({"auto, BF16, 14, 2, 64", "auto, BF16, 32, 8, 128", "auto, F16, 14, 2, 64", "auto, F16, 32, 8, 128",
            "w4x2, BF16, 14, 2, 64", "w4x2, F16, 32, 8, 128", "w4x2, BF16, 16, 16, 80"})
    void halfPrecisionPrefillChunkReadsAnF32KvCacheBlockAfterAPrefix(String shape, AttentionPrecision precision, int hq,
                                                                      int hkv, int d) {
        withMmaWarps(shape, () -> prefillChunkOverKvCache(precision, hq, hkv, d));
    }

    private void prefillChunkOverKvCache(AttentionPrecision precision, int hq, int hkv, int d) {
        CudaBackend gpu = cuda();
        int t = 200;
        int used = 900;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(30, t, hq, d); Tensor cacheK = random(31, hkv, 1024, d); Tensor cacheV = random(32, hkv, 1024, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, hq, d)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(1, 0, used).transpose(0, 1), cacheV.slice(1, 0, used).transpose(0, 1), mask,
                    scale, expected, null);
            gpu.attention(gq, gk.slice(1, 0, used).transpose(0, 1), gv.slice(1, 0, used).transpose(0, 1), mask, scale,
                    out, null, null, precision);
            assertClose(precision + " attention over an F32 kv-cache block after a prefix ("
                    + System.getProperty(AttentionMmaWarps.PROPERTY) + "), Hq=" + hq + " Hkv=" + hkv
                    + " D=" + d, expected, out, halfTol(precision, false));
        }
    }

    /**
     * q, k and v as views into one packed QKV projection [T, 3, H, D] (row stride 3 H D, head
     * stride D): at D=72 the k and v views start 16-byte aligned (float4 tile loads), at D=38 they
     * do not and the row stride is odd in float4s (scalar loads).
     */
    @ParameterizedTest(name = "{0} {1} T={2} H={3} D={4} causal={5}")
    @CsvSource({"auto, BF16, 300, 6, 72, false", "auto, BF16, 150, 3, 38, true", "auto, F16, 300, 6, 72, false",
            "auto, F16, 150, 3, 38, true", "w4x2, BF16, 300, 6, 72, false", "w4x2, F16, 150, 3, 38, true",
            "w4x2, BF16, 260, 4, 64, true", "w4x2, F16, 140, 2, 128, false"})
    void halfPrecisionAttentionReadsViewsIntoAPackedQkvRow(String shape, AttentionPrecision precision, int t, int h,
                                                          int d, boolean causal) {
        withMmaWarps(shape, () -> attentionOverPackedQkvViews(precision, t, h, d, causal));
    }

    private void attentionOverPackedQkvViews(AttentionPrecision precision, int t, int h, int d, boolean causal) {
        CudaBackend gpu = cuda();
        AttentionMask mask = causal ? AttentionMask.causal(0) : AttentionMask.BIDIRECTIONAL;
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor qkv = random(50, t, 3, h, d); Tensor expected = Tensor.allocate(DType.F32, t, h, d);
             Tensor gqkv = gpu.upload(qkv); Tensor out = gpu.allocate(DType.F32, t, h, d)) {
            CPU.attention(qkv.select(1, 0), qkv.select(1, 1), qkv.select(1, 2), mask, scale, expected, null);
            gpu.attention(gqkv.select(1, 0), gqkv.select(1, 1), gqkv.select(1, 2), mask, scale, out, null, null, precision);
            assertClose(precision + " attention over packed QKV views ("
                    + System.getProperty(AttentionMmaWarps.PROPERTY) + "), T=" + t + " H=" + h + " D=" + d, expected, out,
                    halfTol(precision, false));
            assertFinite(out, precision + " attention over packed QKV views");
        }
    }

    /** BF16 and F16 run their own kernels: outputs differ from the F32 kernel's and from each other, within rounding. */
    @Test
    void halfPrecisionsRunOtherKernelsThanF32() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(24, 200, 14, 64); Tensor k = random(25, 200, 2, 64); Tensor v = random(26, 200, 2, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, 200, 14, 64); Tensor bf16 = gpu.allocate(DType.F32, 200, 14, 64);
             Tensor f16 = gpu.allocate(DType.F32, 200, 14, 64)) {
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, exact, null, null, AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, bf16, null, null, AttentionPrecision.BF16);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, f16, null, null, AttentionPrecision.F16);
            float[] e = hostValues(gpu, exact);
            float[] b = hostValues(gpu, bf16);
            float[] f = hostValues(gpu, f16);
            assertFalse(Arrays.equals(e, b), "BF16 attention gave the F32 kernel's exact bits: the bf16 kernel did not run");
            assertFalse(Arrays.equals(e, f), "F16 attention gave the F32 kernel's exact bits: the f16 kernel did not run");
            assertFalse(Arrays.equals(b, f), "BF16 and F16 attention gave the same bits");
            try (Tensor hostExact = Tensor.of(e, 200, 14, 64)) {
                assertClose("bf16 vs f32 kernel", hostExact, bf16, BF16_TOL);
                assertClose("f16 vs f32 kernel", hostExact, f16, F16_TOL);
            }
        }
    }

    /**
     * A capture of softmax rows only keeps the 16-bit kernel (the rows are recomputed exactly from q
     * and k): the output is the uncaptured pass's at that precision, bit for bit, and not the F32
     * kernel's, while the rows are the F32 pass's, bit for bit.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16"})
    void rowsOnlyCaptureKeepsTheHalfPrecisionKernelAndExactRows(AttentionPrecision precision) {
        CudaBackend gpu = cuda();
        int t = 70;
        int[] rows = {0, 69};
        try (Tensor q = random(27, t, 6, 64); Tensor k = random(28, t, 3, 64); Tensor v = random(29, t, 3, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, t, 6, 64); Tensor plain = gpu.allocate(DType.F32, t, 6, 64);
             Tensor asked = gpu.allocate(DType.F32, t, 6, 64);
             Tensor exactRows = gpu.allocate(DType.F32, 6, rows.length, t);
             Tensor askedRows = gpu.allocate(DType.F32, 6, rows.length, t)) {
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, exact, AttentionCapture.rows(rows, exactRows), null,
                    AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, plain, null, null, precision);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, asked, AttentionCapture.rows(rows, askedRows), null,
                    precision);
            float[] askedOut = hostValues(gpu, asked);
            assertArrayEquals(hostValues(gpu, plain), askedOut, "output vs the uncaptured " + precision + " pass");
            assertFalse(Arrays.equals(hostValues(gpu, exact), askedOut), "a rows-only capture ran the F32 kernel");
            assertArrayEquals(hostValues(gpu, exactRows), hostValues(gpu, askedRows), "rowProbs");
        }
    }

    /** Captured column sums feed pruning scores: at BF16 and F16 precision such a pass runs the F32 kernel, bit for bit. */
    @ParameterizedTest(name = "{0}")
    @CsvSource({"BF16", "F16"})
    void captureKeepsHalfPrecisionAttentionExact(AttentionPrecision precision) {
        CudaBackend gpu = cuda();
        int t = 70;
        int[] rows = {0, 69};
        try (Tensor q = random(27, t, 6, 64); Tensor k = random(28, t, 3, 64); Tensor v = random(29, t, 3, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor exact = gpu.allocate(DType.F32, t, 6, 64); Tensor asked = gpu.allocate(DType.F32, t, 6, 64);
             Tensor exactRows = gpu.allocate(DType.F32, 6, rows.length, t);
             Tensor askedRows = gpu.allocate(DType.F32, 6, rows.length, t);
             Tensor exactSums = gpu.allocate(DType.F32, 6, t); Tensor askedSums = gpu.allocate(DType.F32, 6, t)) {
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, exact,
                    new AttentionCapture(rows, exactRows, exactSums), null, AttentionPrecision.F32);
            gpu.attention(gq, gk, gv, AttentionMask.causal(0), 0.125f, asked,
                    new AttentionCapture(rows, askedRows, askedSums), null, precision);
            assertArrayEquals(hostValues(gpu, exact), hostValues(gpu, asked), "output");
            assertArrayEquals(hostValues(gpu, exactRows), hostValues(gpu, askedRows), "rowProbs");
            assertArrayEquals(hostValues(gpu, exactSums), hostValues(gpu, askedSums), "columnSums");
        }
    }

    private static float[] hostValues(CudaBackend gpu, Tensor t) {
        try (Tensor host = gpu.download(t)) {
            return host.toFloatArray();
        }
    }

    /** A prefill chunk after a prefix, over the decoder's cache layout [Hkv, capacity, D] viewed as [S, Hkv, D]. */
    @Test
    void prefillChunkReadsAnF32KvCacheBlockAfterAPrefix() {
        CudaBackend gpu = cuda();
        int t = 200;
        int used = 900;
        try (Tensor q = random(7, t, 14, 64); Tensor cacheK = random(8, 2, 1024, 64); Tensor cacheV = random(9, 2, 1024, 64);
             Tensor expected = Tensor.allocate(DType.F32, t, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, 14, 64)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(1, 0, used).transpose(0, 1), cacheV.slice(1, 0, used).transpose(0, 1), mask,
                    0.125f, expected, null);
            gpu.attention(gq, gk.slice(1, 0, used).transpose(0, 1), gv.slice(1, 0, used).transpose(0, 1), mask, 0.125f,
                    out, null);
            assertClose("attention over an F32 kv-cache block after a prefix (chunked prefill, GQA 7:1)", expected, out, TOL);
        }
    }

    @Test
    void attentionReadsABf16KvCacheSlice() {
        CudaBackend gpu = cuda();
        int t = 4;
        int used = 90;
        try (Tensor q = random(4, t, 14, 64); Tensor cacheK = random(5, 1f, DType.BF16, 128, 2, 64);
             Tensor cacheV = random(6, 1f, DType.BF16, 128, 2, 64);
             Tensor expected = Tensor.allocate(DType.F32, t, 14, 64);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, t, 14, 64)) {
            AttentionMask mask = AttentionMask.causal(used - t);
            CPU.attention(q, cacheK.slice(0, 0, used), cacheV.slice(0, 0, used), mask, 0.125f, expected, null);
            gpu.attention(gq, gk.slice(0, 0, used), gv.slice(0, 0, used), mask, 0.125f, out, null);
            assertClose("attention bf16 kv-cache slice (decode, GQA 7:1)", expected, out, TOL);
        }
    }

    @ParameterizedTest(name = "causal={0}")
    @CsvSource({"false", "true"})
    void captureRecordsRowsAndColumnSumsLikeCpu(boolean causal) {
        CudaBackend gpu = cuda();
        int t = 70;
        int hq = 6;
        int hkv = 3;
        int d = 64;
        int[] rows = {0, 69, 13, 0};
        AttentionMask mask = causal ? AttentionMask.causal(0) : AttentionMask.BIDIRECTIONAL;
        try (Tensor q = random(7, 2f, DType.F32, t, hq, d); Tensor k = random(8, t, hkv, d); Tensor v = random(9, t, hkv, d);
             Tensor expected = Tensor.allocate(DType.F32, t, hq, d);
             Tensor rowProbs = Tensor.allocate(DType.F32, hq, rows.length, t);
             Tensor colSums = Tensor.allocate(DType.F32, hq, t);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(k); Tensor gv = gpu.upload(v);
             Tensor out = gpu.allocate(DType.F32, t, hq, d);
             Tensor gRowProbs = gpu.allocate(DType.F32, hq, rows.length, t);
             Tensor gColSums = gpu.allocate(DType.F32, hq, t)) {
            CPU.attention(q, k, v, mask, 0.125f, expected, new AttentionCapture(rows, rowProbs, colSums));
            gpu.attention(gq, gk, gv, mask, 0.125f, out, new AttentionCapture(rows, gRowProbs, gColSums));
            String m = causal ? " causal" : " bidir";
            assertClose("attention with capture: out" + m, expected, out, TOL);
            assertClose("attention capture rowProbs" + m, rowProbs, gRowProbs, 1e-5);
            assertClose("attention capture columnSums" + m, colSums, gColSums, 1e-4);
        }
    }

    @ParameterizedTest(name = "Hq={0} Hkv={1} D={2} capacity={3} keys={4}")
    @CsvSource({
            "14, 2, 64, 8192, 1",
            "14, 2, 64, 8192, 7",
            "14, 2, 64, 8192, 63",
            "14, 2, 64, 8192, 64",
            "14, 2, 64, 8192, 65",
            "14, 2, 64, 8192, 1000",
            "14, 2, 64, 8192, 6300",
            "32, 32, 128, 8192, 1",
            "32, 32, 128, 8192, 7",
            "32, 32, 128, 8192, 63",
            "32, 32, 128, 8192, 64",
            "32, 32, 128, 8192, 65",
            "32, 32, 128, 8192, 1000",
            "32, 32, 128, 8192, 6300",
            "12, 1, 256, 2048, 777",
            "16, 16, 80, 512, 512",
            "4, 2, 38, 300, 299",
            "28, 4, 128, 100, 100"})
    void decodeAttentionMatchesCpu(int hq, int hkv, int d, int capacity, int keys) {
        CudaBackend gpu = cuda();
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor q = random(11, 1, hq, d); Tensor k = random(12, keys, hkv, d); Tensor v = random(13, keys, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor expected = Tensor.allocate(DType.F32, 1, hq, d);
             Tensor hostCount = Tensor.ofInts(new int[] {keys}, 1);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(hostCount); Tensor out = gpu.allocate(DType.F32, 1, hq, d)) {
            CPU.attention(q, k, v, AttentionMask.BIDIRECTIONAL, scale, expected, null);
            gpu.decodeAttention(gq, gk, gv, count, scale, out);
            assertClose("decode Hq=" + hq + " Hkv=" + hkv + " D=" + d + " cap=" + capacity + " keys=" + keys,
                    expected, out, TOL);
        }
    }

    @Test
    void decodeAttentionOverNoKeysWritesZeros() {
        CudaBackend gpu = cuda();
        try (Tensor q = random(14, 1, 14, 64); Tensor cacheK = random(15, 2, 256, 64);
             Tensor cacheV = random(16, 2, 256, 64); Tensor stale = random(17, 1, 14, 64);
             Tensor zeros = Tensor.allocate(DType.F32, 1, 14, 64); Tensor hostCount = Tensor.ofInts(new int[] {0}, 1);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor count = gpu.upload(hostCount); Tensor out = gpu.upload(stale)) {
            gpu.decodeAttention(gq, gk, gv, count, 0.125f, out);
            assertClose("decode over 0 keys", zeros, out, 0);
        }
    }

    @Test
    void decodeAttentionReplayedFromAGraphFollowsTheKeyCount() {
        CudaBackend gpu = cuda();
        int hq = 14;
        int hkv = 2;
        int d = 64;
        int capacity = 8192;
        int most = 6300;
        try (Tensor q = random(18, 1, hq, d); Tensor k = random(19, most, hkv, d); Tensor v = random(20, most, hkv, d);
             Tensor cacheK = headMajorCache(k, capacity); Tensor cacheV = headMajorCache(v, capacity);
             Tensor gq = gpu.upload(q); Tensor gk = gpu.upload(cacheK); Tensor gv = gpu.upload(cacheV);
             Tensor out = gpu.allocate(DType.F32, 1, hq, d);
             StepInputs inputs = gpu.stepInputs(1)) {
            Runnable step = () -> {
                gpu.upload(inputs);
                gpu.decodeAttention(gq, gk, gv, inputs.cell(0), 0.125f, out);
            };
            inputs.set(0, 1);
            step.run();
            try (StepGraph graph = gpu.capture(step)) {
                for (int keys : new int[] {1, 65, 6300, 0, 1000, 64, 7}) {
                    graph.awaitLastLaunch();
                    inputs.set(0, keys);
                    gpu.launch(graph);
                    try (Tensor expected = Tensor.allocate(DType.F32, 1, hq, d)) {
                        CPU.attention(q, k.slice(0, 0, keys), v.slice(0, 0, keys), AttentionMask.BIDIRECTIONAL, 0.125f,
                                expected, null);
                        assertClose("decode graph replay keys=" + keys, expected, out, TOL);
                    }
                }
            }
        }
    }

}
