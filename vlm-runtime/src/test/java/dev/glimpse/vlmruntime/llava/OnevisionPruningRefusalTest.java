package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** LLaVA-OneVision's packing needs whole grids, so a projector hook may not drop its tokens. */
class OnevisionPruningRefusalTest {

    @Test
    void aDroppingHookIsAnErrorForAnyresImages() {
        LlavaFixture fixture = LlavaFixture.open("llava-onevision-qwen2");
        ProjectorInputHook firstOnly = (i, image) -> new int[] {0};
        try (CpuBackend backend = new CpuBackend(); LlavaModel model = LlavaModel.load(fixture.folder(), backend)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.prepare(
                    fixture.testCase(0).get("prompt").asText(), fixture.visualInput(0), firstOnly, true));
            assertTrue(e.getMessage().contains("cannot prune"), e.getMessage());
        }
    }
}
