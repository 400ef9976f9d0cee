package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaMemoryTest {

    @Test
    void closingATensorReturnsItsBytes() {
        CudaBackend gpu = cuda();
        long before = gpu.bytesInUse();
        Tensor t = gpu.allocate(DType.BF16, 1024, 1024);
        assertEquals(before + 2L * 1024 * 1024, gpu.bytesInUse());
        t.close();
        t.close();
        assertEquals(before, gpu.bytesInUse());
    }

    /**
     * Closed step inputs give their pinned buffer back for the next of the same size (no new
     * cudaMallocHost per decode session), and the next owner's values are the ones its upload
     * carries, also while the previous owner's upload was still queued behind running work.
     */
    @Test
    void stepInputsReusePinnedBuffersWithoutMixingValues() {
        CudaBackend gpu = cuda();
        try (StepInputs warm = gpu.stepInputs(97)) {
            warm.set(0, 1);
        }
        long pinnedBefore = gpu.pinnedAllocations();
        try (Tensor busyA = gpu.upload(Tensor.of(new float[2048 * 2048], 2048, 2048));
             Tensor busyOut = gpu.allocate(DType.F32, 2048, 2048)) {
            for (int round = 0; round < 4; round++) {
                Tensor seen;
                try (StepInputs first = gpu.stepInputs(97)) {
                    for (int i = 0; i < 97; i++) {
                        first.set(i, 1000 * round + i);
                    }
                    for (int r = 0; r < 4; r++) {
                        gpu.linear(busyA, busyA, null, busyOut);
                    }
                    gpu.upload(first);
                    seen = gpu.allocate(DType.I32, 97);
                    for (int i = 0; i < 97; i++) {
                        gpu.copy(first.cell(i), seen.slice(0, i, i + 1));
                    }
                }
                try (StepInputs second = gpu.stepInputs(97); Tensor seenSecond = gpu.allocate(DType.I32, 97)) {
                    for (int i = 0; i < 97; i++) {
                        second.set(i, -7 - i);
                    }
                    gpu.upload(second);
                    for (int i = 0; i < 97; i++) {
                        gpu.copy(second.cell(i), seenSecond.slice(0, i, i + 1));
                    }
                    int[] firstValues = gpu.download(seen).toIntArray();
                    int[] secondValues = gpu.download(seenSecond).toIntArray();
                    for (int i = 0; i < 97; i++) {
                        assertEquals(1000 * round + i, firstValues[i], "first owner's value " + i);
                        assertEquals(-7 - i, secondValues[i], "second owner's value " + i);
                    }
                } finally {
                    seen.close();
                }
            }
        }
        assertEquals(pinnedBefore, gpu.pinnedAllocations(), "step inputs of one size reuse the pool's pinned buffers");
        // Other test classes share this backend and may have left free 5-int buffers in the pool, but
        // it keeps at most KEEP_PER_SIZE of a size: holding one more than that at once must pin anew.
        List<StepInputs> held = new ArrayList<>();
        try {
            for (int i = 0; i <= PinnedPool.KEEP_PER_SIZE; i++) {
                StepInputs other = gpu.stepInputs(5);
                held.add(other);
                other.set(4, 9);
            }
        } finally {
            held.forEach(StepInputs::close);
        }
        assertTrue(gpu.pinnedAllocations() > pinnedBefore, "another size pins a buffer of its own");
    }

    @Test
    void exceedingTheBudgetNamesBytesBudgetAndOption() {
        cuda();
        try (CudaBackend small = CudaBackend.open(new CudaOptions(0, 1L << 20))) {
            CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                    () -> small.allocate(DType.F32, 1024, 1024));
            String message = e.getMessage();
            assertTrue(message.contains("4.0 MiB") && message.contains("F32[1024, 1024]") && message.contains("1.0 MiB")
                    && message.contains(CudaOptions.MEMORY_PROPERTY) && message.contains("--device cpu"), message);
        }
    }

    @Test
    void allocatingMoreThanTheCardHoldsNamesFreeMemory() {
        CudaBackend gpu = cuda();
        CudaOutOfMemoryException e = assertThrows(CudaOutOfMemoryException.class,
                () -> gpu.allocate(DType.F32, 1 << 30, 1 << 10));
        assertTrue(e.getMessage().contains("free of") && e.getMessage().contains("4096.00 GiB"), e.getMessage());
    }
}
