package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.timeline.KernelRecord;
import dev.glimpse.kernels.cuda.timeline.PassTimeline;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** How a recorded pass says whether it ran from CUDA graphs (the replay the TTFT measures) or op by op. CPU-only. */
class LlavaPassTimelinesTest {

    @Test
    void aPassOfGraphNodesOnlySaysAllFromGraphs() {
        assertEquals("all 2 kernels from CUDA graphs", LlavaPassTimelines.graphShare(List.of(kernel(0, 7), kernel(10, 7))));
    }

    @Test
    void aPassWithoutGraphsSaysItsKernelsRanOneByOne() {
        assertEquals("no CUDA graph: 2 kernels launched one by one",
                LlavaPassTimelines.graphShare(List.of(kernel(0, 0), kernel(10, 0))));
    }

    @Test
    void aMixedPassCountsItsGraphNodes() {
        // a replayed prefill graph, then the first token's argmax launched on its own
        assertEquals("2 of 3 kernels from CUDA graphs",
                LlavaPassTimelines.graphShare(List.of(kernel(0, 3), kernel(10, 3), kernel(20, 0))));
    }

    @Test
    void anEmptyPassSaysSo() {
        assertEquals("no kernels", LlavaPassTimelines.graphShare(List.of()));
    }

    @Test
    void aNamedPassKeepsItsMarksAndKernelsAndEndsInItsGraphShare() {
        PassTimeline pass = new PassTimeline("prefill", 100, 900, List.of(kernel(200, 5)));
        PassTimeline named = LlavaPassTimelines.named(pass, "llava-1.5-7b none at 576 visual tokens: prefill 586 rows");
        assertEquals("llava-1.5-7b none at 576 visual tokens: prefill 586 rows [all 1 kernel from CUDA graphs]",
                named.pass());
        assertEquals(pass.hostStartNs(), named.hostStartNs());
        assertEquals(pass.hostEndNs(), named.hostEndNs());
        assertEquals(pass.kernels(), named.kernels());
    }

    private static KernelRecord kernel(long start, int graphId) {
        return new KernelRecord("gemm", 4, 24, 1, 128, 1, 1, start, start + 5, 7, graphId, 1);
    }
}
