package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

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
