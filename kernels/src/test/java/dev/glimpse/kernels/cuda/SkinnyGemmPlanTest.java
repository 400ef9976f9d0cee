package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The skinny GEMM's launch planning and properties (host-side only: runs without a GPU). */
class SkinnyGemmPlanTest {

    /** An H200: 132 multiprocessors, 2 resident blocks each. */
    private static final long H200_SLOTS = 264;

    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"74, 4096, 4096", "74, 11008, 4096", "74, 4096, 11008", "9, 896, 896", "128, 128, 896", "64, 4864, 896",
            "17, 896, 4864", "100, 1024, 1024", "33, 8, 64", "127, 4104, 4104", "9, 200, 8"})
    void everySliceOfKIsNonEmptyAndTheyCoverK(int m, int n, int k) {
        SkinnyGemmPlan plan = SkinnyGemmPlan.of(m, n, k, H200_SLOTS);
        int steps = (k + SkinnyGemmPlan.STEP_K - 1) / SkinnyGemmPlan.STEP_K;
        assertEquals(0, plan.stepsPerSplit() % SkinnyGemmPlan.CHUNK_STEPS, "slices are whole chunks");
        assertTrue((long) (plan.splits() - 1) * plan.stepsPerSplit() < steps, "last slice starts inside k: " + plan);
        assertTrue((long) plan.splits() * plan.stepsPerSplit() >= steps, "slices cover k: " + plan);
        assertTrue(plan.paddedRows() >= m && plan.paddedRows() - m < 8 || m <= 16 && plan.paddedRows() == 16, plan.toString());
        assertEquals((n + 127) / 128, plan.featureBlocks());
        assertTrue(plan.splits() <= SkinnyGemmPlan.MAX_SPLITS);
    }

    @ParameterizedTest(name = "n={0} k={1}")
    @CsvSource({"4096, 4096", "11008, 4096", "4096, 11008", "4864, 896", "1024, 4096"})
    void theGridFillsOneWaveOfResidentBlocksAtMost(int n, int k) {
        SkinnyGemmPlan plan = SkinnyGemmPlan.of(74, n, k, H200_SLOTS);
        long blocks = (long) plan.featureBlocks() * plan.splits();
        assertTrue(blocks <= Math.max(H200_SLOTS, plan.featureBlocks()), plan + " has " + blocks + " blocks");
        assertTrue(blocks > H200_SLOTS / 2 || plan.splits() * plan.stepsPerSplit() * SkinnyGemmPlan.STEP_K < k + SkinnyGemmPlan.CHUNK_K,
                plan + " leaves more than half the GPU idle with k left to split");
    }

    @Test
    void llamaProjectionsAt74RowsSplitKEightWays() {
        SkinnyGemmPlan plan = SkinnyGemmPlan.of(74, 4096, 4096, H200_SLOTS);
        assertEquals(new SkinnyGemmPlan(10, 32, 8, 16), plan);
        assertEquals("gemm_skinny_bf16_r80", plan.kernel(DType.BF16));
        assertEquals("gemm_skinny_f16_r80", plan.kernel(DType.F16));
        assertEquals(2 * 4 * 80 * 64, plan.sharedBytes());
    }

    @Test
    void aSmallGpuGetsOneSliceAndWritesOutDirectly() {
        SkinnyGemmPlan plan = SkinnyGemmPlan.of(16, 11008, 4096, 2);
        assertEquals(1, plan.splits());
        assertTrue(plan.stepsPerSplit() * SkinnyGemmPlan.STEP_K >= 4096);
    }

    @Test
    void forcedSplitsAreHonouredWithinAChunkPerSlice() {
        assertEquals(2, SkinnyGemmPlan.of(74, 4096, 4096, H200_SLOTS, 2).splits());
        assertEquals(32, SkinnyGemmPlan.of(74, 4096, 4096, H200_SLOTS, 32).splits());
        assertEquals(1, SkinnyGemmPlan.of(74, 4096, 128, H200_SLOTS, 8).splits(), "k = one chunk: one slice");
        assertEquals(0, SkinnyGemmMode.parseSplits(null));
        assertEquals(4, SkinnyGemmMode.parseSplits("4"));
        CudaException e = assertThrows(CudaException.class, () -> SkinnyGemmMode.parseSplits("33"));
        assertTrue(e.getMessage().contains("glimpse.cuda.skinnyGemm.splits"), e.getMessage());
    }

    /** Every row count 9..128 names a kernel that gemm_skinny.cu instantiates, for both dtypes. */
    @Test
    void everyPlannedKernelIsInstantiatedInTheSource() throws IOException {
        Path dir = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda") : Path.of("kernels/src/main/cuda");
        String source = Files.readString(dir.resolve("gemm_skinny.cu"));
        for (int rows = CudaGemm.GEMV_MAX_ROWS + 1; rows <= SkinnyGemmPlan.MAX_ROWS; rows++) {
            SkinnyGemmPlan plan = SkinnyGemmPlan.of(rows, 64, 64, 1);
            assertTrue(source.contains("SKINNY_KERNELS(" + plan.paddedRows() + ")"), plan.kernel(DType.BF16) + " is not built");
            assertTrue(plan.kernel(DType.F16).endsWith("_r" + plan.paddedRows()));
        }
        assertTrue(source.contains("SKINNY_KERNEL(bf16, __nv_bfloat16, RT)") && source.contains("SKINNY_KERNEL(f16, __half, RT)"));
        assertTrue(source.contains("#define SKINNY_THREADS (SKINNY_WARPS * 32)") && source.contains("#define SKINNY_WARPS 8")
                && source.contains("#define SKINNY_CHUNK_STEPS " + SkinnyGemmPlan.CHUNK_STEPS), "launch constants match the kernel's");
    }

    @Test
    void rowsOutsideTheKernelsRangeAndUnreadableKAreRejected() {
        assertThrows(CudaException.class, () -> SkinnyGemmPlan.of(8, 64, 64, 1));
        assertThrows(CudaException.class, () -> SkinnyGemmPlan.of(129, 64, 64, 1));
        assertThrows(CudaException.class, () -> SkinnyGemmPlan.of(64, 64, 1001, 1));
        assertThrows(CudaException.class, () -> SkinnyGemmPlan.of(64, 64, 64, 1).kernel(DType.F32));
    }

    @Test
    void modeAndRowCapParseAndNameThePropertyWhenWrong() {
        assertEquals(SkinnyGemmMode.AUTO, SkinnyGemmMode.parse(null));
        assertEquals(SkinnyGemmMode.OFF, SkinnyGemmMode.parse(" OFF "));
        CudaException mode = assertThrows(CudaException.class, () -> SkinnyGemmMode.parse("on"));
        assertTrue(mode.getMessage().contains("glimpse.cuda.skinnyGemm") && mode.getMessage().contains("auto, off"),
                mode.getMessage());
        assertEquals(128, SkinnyGemmMode.parseMaxRows(""));
        assertEquals(96, SkinnyGemmMode.parseMaxRows("96"));
        for (String bad : new String[] {"129", "7", "many"}) {
            CudaException rows = assertThrows(CudaException.class, () -> SkinnyGemmMode.parseMaxRows(bad));
            assertTrue(rows.getMessage().contains("glimpse.cuda.skinnyGemm.maxRows"), rows.getMessage());
        }
    }

    @Test
    void autoTakesRowsAboveTheGemvUpToTheCapAndOffNone() {
        assertFalse(SkinnyGemmMode.AUTO.takes(8, 128));
        assertTrue(SkinnyGemmMode.AUTO.takes(9, 128));
        assertTrue(SkinnyGemmMode.AUTO.takes(128, 128));
        assertFalse(SkinnyGemmMode.AUTO.takes(129, 128));
        assertFalse(SkinnyGemmMode.AUTO.takes(17, 16));
        assertFalse(SkinnyGemmMode.AUTO.takes(9, 8));
        assertFalse(SkinnyGemmMode.OFF.takes(74, 128));
    }
}
