package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cuda.CudaBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertSame;

/** Where a prefill prefetches: never off CUDA, whatever {@code -Dglimpse.cuda.prefillL2Prefetch} says (CUDA: {@code CudaPrefillL2PrefetchTest}). */
class PrefillL2PrefetchTest {

    @AfterEach
    void propertyBack() {
        System.clearProperty(CudaBackend.PREFILL_L2_PREFETCH_PROPERTY);
    }

    @Test
    void aCpuPrefillNeverPrefetches() {
        System.setProperty(CudaBackend.PREFILL_L2_PREFETCH_PROPERTY, "true");
        try (CpuBackend cpu = new CpuBackend()) {
            assertSame(PrefillL2Prefetch.NONE, PrefillL2Prefetch.forRows(cpu, 74));
        }
    }
}
