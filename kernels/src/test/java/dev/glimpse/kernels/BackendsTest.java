package dev.glimpse.kernels;

import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendsTest {

    @Test
    void autoPicksCudaWhenUsableElseFallsBackToCpu() {
        boolean cudaUsable;
        try (CudaBackend probe = CudaBackend.open(CudaOptions.defaults())) {
            cudaUsable = probe.device().kind() == Device.Kind.CUDA;
        } catch (Backends.UnavailableException e) {
            cudaUsable = false;
        }
        try (Backend chosen = Backends.create(Backends.Choice.AUTO)) {
            assertEquals(cudaUsable ? "cuda" : "cpu", chosen.name());
        }
    }

    @Test
    void forcingCudaWithoutAGpuSaysWhyAndHowToGoOn() {
        try (CudaBackend ignored = CudaBackend.open(CudaOptions.defaults())) {
            return;
        } catch (Backends.UnavailableException expectedWithoutGpu) {
            Backends.UnavailableException e = assertThrows(Backends.UnavailableException.class,
                    () -> Backends.create(Backends.Choice.CUDA));
            assertTrue(e.getMessage().startsWith("--device cuda: ") && e.getMessage().contains("--device cpu"), e.getMessage());
        }
    }

    @Test
    void cpuIsAlwaysAvailable() {
        try (Backend cpu = Backends.create(Backends.Choice.CPU)) {
            assertEquals("cpu", cpu.name());
        }
    }
}
