package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OutputBlockTest {

    /** A VTC-CLS pass's outputs: seven [CLS] row blocks, then the features. */
    private static final List<int[]> VTC_OUTPUTS = List.of(new int[] {1, 16, 577}, new int[] {1, 16, 577},
            new int[] {1, 16, 577}, new int[] {1, 16, 577}, new int[] {1, 16, 577}, new int[] {1, 16, 577},
            new int[] {1, 16, 577}, new int[] {1, 576, 1024});

    @Test
    void viewsHaveTheAskedShapesOn256ByteBoundaries() {
        OutputBlock layout = new OutputBlock(VTC_OUTPUTS);
        try (Tensor block = Tensor.allocate(DType.F32, Math.toIntExact(layout.bytes() / Float.BYTES))) {
            List<Tensor> views = layout.views(block);
            assertEquals(VTC_OUTPUTS.size(), views.size());
            for (int i = 0; i < views.size(); i++) {
                assertArrayEquals(VTC_OUTPUTS.get(i), views.get(i).shape(), "output " + i);
                assertEquals(0, views.get(i).offset() % 64, "output " + i + " starts on a 256-byte boundary");
            }
        }
    }

    @Test
    void viewsDoNotOverlapAndFitTheBlock() {
        OutputBlock layout = new OutputBlock(VTC_OUTPUTS);
        try (Tensor block = Tensor.allocate(DType.F32, Math.toIntExact(layout.bytes() / Float.BYTES))) {
            List<Tensor> views = layout.views(block);
            for (int i = 0; i + 1 < views.size(); i++) {
                long end = views.get(i).offset() + views.get(i).numel();
                assertTrue(end <= views.get(i + 1).offset(), "output " + i + " ends before output " + (i + 1));
            }
            Tensor last = views.getLast();
            assertTrue(last.offset() + last.numel() <= block.numel(), "the last output fits the block");
        }
    }

    @Test
    void aPassWithoutOutputsStillHasABlock() {
        assertEquals(Float.BYTES, new OutputBlock(List.of()).bytes());
    }
}
