package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link OnlineDecodePlan} and the choice between it and the split kernel (no GPU needed). */
class OnlineDecodePlanTest {

    private static final int H200_SMS = 132;

    @ParameterizedTest(name = "group={0} -> heads per block {1}, padded {2}, head blocks {3}")
    @CsvSource({"1, 1, 1, 1", "2, 2, 2, 1", "3, 3, 4, 1", "5, 5, 8, 1", "7, 7, 8, 1", "8, 8, 8, 1", "12, 6, 8, 2",
            "17, 6, 8, 3"})
    void headsArePaddedToThePowerOfTwoTheKernelIsCompiledFor(int group, int perBlock, int padded, int blocks) {
        OnlineDecodePlan plan = OnlineDecodePlan.of(group * 2, 2, 8192, H200_SMS);
        assertEquals(perBlock, plan.headsPerBlock(), plan.toString());
        assertEquals(padded, plan.paddedHeads(), plan.toString());
        assertEquals(blocks, plan.headBlocks(), plan.toString());
        assertEquals(plan.headBlocks(), (group + plan.headsPerBlock() - 1) / plan.headsPerBlock(),
                "the kernel's head_blocks");
    }

    @Test
    void aLongQwen2CacheLeavesOneSplitPer256KeysAtMost() {
        OnlineDecodePlan plan = OnlineDecodePlan.of(14, 2, 8192, H200_SMS);
        assertEquals(32, plan.splits());
        assertEquals("attention_decode_online_vec4_h8", plan.kernel(DType.F32, true));
    }

    @Test
    void sixteenBitCachesTakeTheirTypesKernels() {
        OnlineDecodePlan plan = OnlineDecodePlan.of(14, 2, 8192, H200_SMS);
        assertEquals("attention_decode_online_bf16_vec8_h8", plan.kernel(DType.BF16, true));
        assertEquals("attention_decode_online_f16_h8", plan.kernel(DType.F16, false));
    }

    @Test
    void passesKernelsServe16BitVectorLoadsOfEightHeadGroups() {
        OnlineDecodePlan plan = OnlineDecodePlan.of(14, 2, 8192, H200_SMS);
        assertEquals("attention_decode_online_bf16_vec8_h8_passes", plan.kernel(DType.BF16, true, OnlineDecode16.PASSES));
        assertEquals("attention_decode_online_f16_vec8_h8_passes", plan.kernel(DType.F16, true, OnlineDecode16.PASSES));
        assertEquals("attention_decode_online_bf16_vec8_h8_passes_early",
                plan.kernel(DType.BF16, true, OnlineDecode16.PASSES_EARLY));
        assertEquals("attention_decode_online_bf16_vec8_h8", plan.kernel(DType.BF16, true, OnlineDecode16.CURRENT));
        assertEquals("decode_online16", OnlineDecode16.PASSES.module(DType.BF16, true, plan.paddedHeads()));
        assertEquals("decode_online16", OnlineDecode16.PASSES_EARLY.module(DType.F16, true, plan.paddedHeads()));
        assertEquals("decode", OnlineDecode16.CURRENT.module(DType.BF16, true, plan.paddedHeads()));
    }

    @Test
    void passesKernelsLeaveTheCurrentKernelWhereTheyHaveNoVariant() {
        OnlineDecodePlan qwen = OnlineDecodePlan.of(14, 2, 8192, H200_SMS);
        assertEquals("attention_decode_online_bf16_h8", qwen.kernel(DType.BF16, false, OnlineDecode16.PASSES));
        assertEquals("attention_decode_online_vec4_h8", qwen.kernel(DType.F32, true, OnlineDecode16.PASSES));
        OnlineDecodePlan four = OnlineDecodePlan.of(8, 2, 8192, H200_SMS);
        assertEquals("attention_decode_online_bf16_vec8_h4", four.kernel(DType.BF16, true, OnlineDecode16.PASSES));
        assertEquals("decode", OnlineDecode16.PASSES.module(DType.BF16, true, four.paddedHeads()));
        assertEquals("attention_decode_online_f16_h8", qwen.kernel(DType.F16, false, OnlineDecode16.PASSES_EARLY));
    }

    @Test
    void theOnline16KernelIsPassesEarlyByDefaultAndUnknownNamesAreRejected() {
        String old = System.getProperty(OnlineDecode16.PROPERTY);
        try {
            System.clearProperty(OnlineDecode16.PROPERTY);
            assertEquals(OnlineDecode16.PASSES_EARLY, OnlineDecode16.configured());
            System.setProperty(OnlineDecode16.PROPERTY, "current");
            assertEquals(OnlineDecode16.CURRENT, OnlineDecode16.configured());
            System.setProperty(OnlineDecode16.PROPERTY, " Passes ");
            assertEquals(OnlineDecode16.PASSES, OnlineDecode16.configured());
            System.setProperty(OnlineDecode16.PROPERTY, "passes_early");
            assertEquals(OnlineDecode16.PASSES_EARLY, OnlineDecode16.configured());
            System.setProperty(OnlineDecode16.PROPERTY, "fast");
            TensorException e = assertThrows(TensorException.class, OnlineDecode16::configured);
            assertTrue(e.getMessage().contains(OnlineDecode16.PROPERTY) && e.getMessage().contains("current, passes, passes_early"),
                    e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(OnlineDecode16.PROPERTY);
            } else {
                System.setProperty(OnlineDecode16.PROPERTY, old);
            }
        }
    }

    @Test
    void manyHeadGroupsTakeAboutOneBlockPerMultiprocessor() {
        OnlineDecodePlan plan = OnlineDecodePlan.of(32, 32, 8192, H200_SMS);
        assertEquals(5, plan.splits());
        assertEquals("attention_decode_online_h1", plan.kernel(DType.F32, false));
    }

    @ParameterizedTest(name = "capacity={0}")
    @CsvSource({"0, 1", "1, 1", "256, 1", "257, 2", "300, 2", "16384, 64", "1000000, 66"})
    void splitsNeverExceedTheFullCacheChunksOrTheFill(int capacity, int splits) {
        assertEquals(splits, OnlineDecodePlan.of(14, 2, capacity, H200_SMS).splits());
    }

    @Test
    void aFinerGridTargetTakesMoreSplits() {
        assertEquals(64, OnlineDecodePlan.of(14, 2, 8192, H200_SMS, 2, 128).splits());
        assertEquals(16, OnlineDecodePlan.of(14, 2, 8192, H200_SMS, 1, 512).splits());
        assertEquals(9, OnlineDecodePlan.of(32, 32, 8192, H200_SMS, 2, 128).splits());
    }

    @ParameterizedTest(name = "[{0}]")
    @CsvSource({"'', 1, 256", "2x128, 2, 128", " 4 x 384 , 4, 384"})
    void theGridPropertyParses(String value, int blocks, int chunk) {
        withGrid(value, () -> assertArrayEquals(new int[] {blocks, chunk}, OnlineDecodePlan.configuredGrid()));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"2x100", "0x256", "2", "2x", "x256", "-1x256", "2x256x1", "twox256", "99x128"})
    void aBadGridPropertyIsRejectedWithTheExpectedForm(String value) {
        withGrid(value, () -> {
            TensorException e = assertThrows(TensorException.class, OnlineDecodePlan::configuredGrid);
            assertTrue(e.getMessage().contains(OnlineDecodePlan.GRID_PROPERTY) && e.getMessage().contains("1x256"),
                    e.getMessage());
        });
    }

    private static void withGrid(String value, Runnable body) {
        String old = System.getProperty(OnlineDecodePlan.GRID_PROPERTY);
        System.setProperty(OnlineDecodePlan.GRID_PROPERTY, value);
        try {
            body.run();
        } finally {
            if (old == null) {
                System.clearProperty(OnlineDecodePlan.GRID_PROPERTY);
            } else {
                System.setProperty(OnlineDecodePlan.GRID_PROPERTY, old);
            }
        }
    }

    @Test
    void theKernelChoiceFollowsThePropertyAndTheHeadDim() {
        assertFalse(CudaDecodeAttention.Kernel.SPLIT.online(64, 1 << 20));
        assertTrue(CudaDecodeAttention.Kernel.ONLINE.online(64, 16));
        assertFalse(CudaDecodeAttention.Kernel.ONLINE.online(256, 8192), "head dim past the shared buffers");
        assertTrue(CudaDecodeAttention.Kernel.AUTO.online(128, CudaDecodeAttention.Kernel.AUTO_ONLINE_CAPACITY));
        assertFalse(CudaDecodeAttention.Kernel.AUTO.online(128, CudaDecodeAttention.Kernel.AUTO_ONLINE_CAPACITY - 1));
    }

    @Test
    void theDefaultKernelIsAuto() {
        String old = System.getProperty(CudaDecodeAttention.KERNEL_PROPERTY);
        System.clearProperty(CudaDecodeAttention.KERNEL_PROPERTY);
        try {
            assertEquals(CudaDecodeAttention.Kernel.AUTO, CudaDecodeAttention.Kernel.configured());
        } finally {
            if (old != null) {
                System.setProperty(CudaDecodeAttention.KERNEL_PROPERTY, old);
            }
        }
    }
}
