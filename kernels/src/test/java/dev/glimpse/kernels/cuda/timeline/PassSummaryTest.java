package dev.glimpse.kernels.cuda.timeline;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The summarizer on prefill-sample.json: a pass of one prologue kernel (ends at 1150, 10 ns idle
 * after it), three layers of four kernels (rms 5 ns, then 2 ns idle, GEMM 30 ns, 3 idle, attention
 * 10, 2 idle, down GEMM 40, 8 idle: 85 ns of kernels and 15 of gaps, a layer every 100 ns) and an
 * epilogue of rms 5, 5 idle, argmax 10; host marks at 1000 and 1500.
 */
class PassSummaryTest {

    private static PassTimeline sample() throws IOException, URISyntaxException {
        Path file = Path.of(PassSummaryTest.class.getResource("prefill-sample.json").toURI());
        List<PassTimeline> passes = TimelineFile.read(file);
        assertEquals(1, passes.size());
        return passes.getFirst();
    }

    @Test
    void layersAreTheLongestRunOfAlikeBlocksAfterThePrologue() throws Exception {
        PassSummary s = PassSummary.of(sample(), null);
        assertEquals(new LayerSplit(1, 4, 3), s.split());
        assertEquals(new PassSummary.Segment(1, 50, 10, 60), s.prologue());
        assertEquals(new PassSummary.Segment(2, 15, 5, 20), s.epilogue());
    }

    @Test
    void eachLayerSumsItsKernelsAndTheIdleTimeAfterThem() throws Exception {
        PassSummary s = PassSummary.of(sample(), null);
        assertEquals(List.of(new PassSummary.Segment(4, 85, 15, 100), new PassSummary.Segment(4, 85, 15, 100),
                new PassSummary.Segment(4, 85, 15, 100)), s.layers());
        assertEquals(85, s.meanLayerKernelNs());
        assertEquals(15, s.meanLayerGapNs());
    }

    @Test
    void wallTimeIsLeadPlusSpanPlusTailAndSpanIsKernelsPlusGaps() throws Exception {
        PassSummary s = PassSummary.of(sample(), null);
        assertEquals(500, s.wallNs());
        assertEquals(100, s.leadNs());
        assertEquals(380, s.spanNs());
        assertEquals(20, s.tailNs());
        assertEquals(320, s.kernelNs());
        assertEquals(60, s.gapNs());
        assertEquals(s.wallNs(), s.leadNs() + s.spanNs() + s.tailNs());
    }

    @Test
    void positionsAverageTheSameKernelOverLayersWithReadableNames() throws Exception {
        List<PassSummary.Position> p = PassSummary.of(sample(), null).positions();
        assertEquals(List.of(new PassSummary.Position(0, "rms_norm_rows_v4_4", "74,1,1", 5, 5, 5, 2),
                new PassSummary.Position(1, "cutlass::Kernel", "2,8,1", 30, 30, 30, 3),
                new PassSummary.Position(2, "attention_mma_cache_bf16_d128_w2s2_o16", "3,32,1", 10, 10, 10, 2),
                new PassSummary.Position(3, "gemm_residual", "4,32,1", 40, 40, 40, 8)), p);
    }

    @Test
    void kernelsOutsideTheLayersAreListedOneByOne() throws Exception {
        assertEquals(List.of(new PassSummary.Launch(0, "embedding_gather_f32", "10,1,1", 50, 10),
                new PassSummary.Launch(13, "rms_norm_rows_v4_4", "74,1,1", 5, 5),
                new PassSummary.Launch(14, "argmax_rows", "1,1,1", 10, 0)), PassSummary.of(sample(), null).outsideLayers());
    }

    @Test
    void kernelsThatOverlapLeaveNoGap() {
        PassTimeline t = new PassTimeline("pdl", 0, 40, List.of(kernel("a", 0, 10), kernel("b", 8, 20), kernel("c", 25, 30)));
        PassSummary s = PassSummary.of(t, null);
        assertEquals(5, s.gapNs(), "b starts while a runs; only 20..25 is idle");
        assertEquals(30, s.spanNs());
        assertEquals(27, s.kernelNs());
    }

    @Test
    void aKernelInsideALongerOneLeavesNoGapUntilTheLongerEnds() {
        PassTimeline t = new PassTimeline("nested", 0, 40, List.of(kernel("a", 0, 20), kernel("b", 2, 4), kernel("c", 22, 30)));
        assertEquals(2, PassSummary.of(t, null).gapNs(), "idle from a's end at 20, not b's at 4");
    }

    @Test
    void aLayerStartPatternRotatesBlocksThatBeganInThePrologue() {
        // the prologue ends with the kernel a layer ends with: the periodic run starts one kernel early
        List<KernelRecord> k = new java.util.ArrayList<>(List.of(kernel("embed", 0, 1), kernel("down", 2, 3)));
        for (int l = 0; l < 3; l++) {
            long b = 10 + 10L * l;
            k.addAll(List.of(kernel("rms", b, b + 1), kernel("qkv", b + 2, b + 3), kernel("attn", b + 4, b + 5),
                    kernel("down", b + 6, b + 7)));
        }
        k.add(kernel("argmax", 50, 51));
        assertEquals(new LayerSplit(1, 4, 3), LayerSplit.find(k));
        assertEquals(new LayerSplit(2, 4, 3), LayerSplit.find(k, Pattern.compile("^rms")));
    }

    @Test
    void aPassWithoutRepeatedBlocksHasNoLayers() {
        PassTimeline t = new PassTimeline("flat", 0, 10, List.of(kernel("a", 0, 1), kernel("b", 2, 3), kernel("c", 4, 5)));
        PassSummary s = PassSummary.of(t, null);
        assertEquals(0, s.split().layers());
        assertTrue(s.table().get(1).contains("no repeated layer"), s.table().get(1));
        assertTrue(s.json().contains("\"layers\":0"), s.json());
    }

    @Test
    void theSameKernelOnAnotherGridIsAnotherLaunch() {
        List<KernelRecord> k = List.of(kernel("x", 0, 1), kernel("x", 2, 3), grid(kernel("x", 4, 5), 2),
                kernel("x", 6, 7));
        assertEquals(0, LayerSplit.find(k).layers(), "a run of 2 alike launches is too short to be layers");
    }

    @Test
    void theJsonLineCarriesTotalsAndLayerMeans() throws Exception {
        String json = PassSummary.of(sample(), null).json();
        assertTrue(json.startsWith("{\"bench\":\"cuda_timeline\",\"pass\":\"prefill sample\",\"kernels\":15,"), json);
        assertTrue(json.contains("\"layers\":3,\"kernels_per_layer\":4,\"first_layer_kernel\":1,\"layer_kernel_us\":0.09,"
                + "\"layer_gap_us\":0.02"), json);
    }

    private static KernelRecord kernel(String name, long start, long end) {
        return new KernelRecord(name, 1, 1, 1, 128, 1, 1, start, end, 7, 0, 0);
    }

    private static KernelRecord grid(KernelRecord k, int gridX) {
        return new KernelRecord(k.name(), gridX, k.gridY(), k.gridZ(), k.blockX(), k.blockY(), k.blockZ(), k.startNs(),
                k.endNs(), k.streamId(), k.graphId(), k.correlationId());
    }
}
