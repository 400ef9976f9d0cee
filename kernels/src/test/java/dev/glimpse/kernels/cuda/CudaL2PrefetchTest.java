package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The L2 prefetch fork/join ops ({@link CudaBackend#forkL2Prefetch}, {@link CudaBackend#joinL2Prefetches}):
 * a prefetch writes nothing, so the tensor it walks keeps its values and the GEMM that reads the
 * prefetched weights (at a LLaVA-7B prompt's 74 rows, the cuBLASLt path) writes the same bits as
 * without it, eagerly and from a captured graph replayed twice; a capture that leaves a fork unjoined
 * is joined by {@link CudaBackend#capture} and replays (each capture after an eager fork of its kernel,
 * so capture loads no module). Both kernels ({@code l2_prefetch_lines},
 * {@code l2_prefetch_bulk}), over the whole weight and over a prefix that is no multiple of a line.
 */
class CudaL2PrefetchTest {

    private static final int ROWS = 74;
    private static final int OUT = 2048;
    private static final int IN = 1024;
    /** A prefix of the weights ending inside a 128-byte line and off a 16-byte boundary. */
    private static final long PREFIX = 3 * 1024 * 1024 + 200;

    /** Weights [OUT, IN] BF16, x [ROWS, IN] BF16, on the device. */
    private record Operands(Tensor w, Tensor x) implements AutoCloseable {
        static Operands random() {
            CudaBackend gpu = cuda();
            try (Tensor w = CudaTestSupport.random(41, 0.05f, DType.BF16, OUT, IN);
                 Tensor x = CudaTestSupport.random(42, 1f, DType.BF16, ROWS, IN)) {
                return new Operands(gpu.upload(w), gpu.upload(x));
            }
        }

        /** x w^T into a new device tensor, with no prefetch (the GEMM's algorithm chosen by then). */
        Tensor product() {
            Tensor out = cuda().allocate(DType.F32, ROWS, OUT);
            cuda().linear(x, w, null, out);
            return out;
        }

        @Override
        public void close() {
            w.close();
            x.close();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = L2PrefetchMode.class, names = {"LINES", "BULK"})
    void aPrefetchLeavesTheTensorAndTheProductReadingItUnchanged(L2PrefetchMode mode) {
        CudaBackend gpu = cuda();
        try (Operands op = Operands.random(); Tensor before = gpu.download(op.w()); Tensor expected = op.product();
             Tensor out = gpu.allocate(DType.F32, ROWS, OUT)) {
            for (long bytes : new long[] {Long.MAX_VALUE, PREFIX}) {
                gpu.forkL2Prefetch(op.w(), bytes, mode);
                assertTrue(gpu.l2PrefetchPending(), mode + ": a fork is pending until joined");
                gpu.linear(op.x(), op.w(), null, out);
                gpu.joinL2Prefetches();
                assertFalse(gpu.l2PrefetchPending(), mode + ": joined");
                assertBitsEqual(mode + " " + bytes + " bytes: product after the prefetch", expected, out);
            }
            try (Tensor after = gpu.download(op.w())) {
                assertArrayEquals(before.toFloatArray(), after.toFloatArray(), mode + ": the prefetched weights");
            }
            System.out.println("GPU-PARITY l2-prefetch " + mode + " eager: bit-identical");
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(value = L2PrefetchMode.class, names = {"LINES", "BULK"})
    void aCapturedForkAndJoinReplaysTheSameProduct(L2PrefetchMode mode) {
        CudaBackend gpu = cuda();
        try (Operands op = Operands.random(); Tensor expected = op.product();
             Tensor out = gpu.allocate(DType.F32, ROWS, OUT)) {
            gpu.forkL2Prefetch(op.w(), PREFIX, mode);
            gpu.joinL2Prefetches();
            try (StepGraph graph = gpu.capture(() -> {
                gpu.forkL2Prefetch(op.w(), PREFIX, mode);
                gpu.linear(op.x(), op.w(), null, out);
                gpu.joinL2Prefetches();
            })) {
                for (int replay = 0; replay < 2; replay++) {
                    gpu.scale(out, 0f, out);
                    gpu.launch(graph);
                    gpu.synchronize();
                    assertBitsEqual(mode + " replay " + replay + ": product", expected, out);
                }
            }
            System.out.println("GPU-PARITY l2-prefetch " + mode + " graph: bit-identical");
        }
    }

    @Test
    void captureJoinsAForkLeftOpen() {
        CudaBackend gpu = cuda();
        try (Operands op = Operands.random(); Tensor expected = op.product();
             Tensor out = gpu.allocate(DType.F32, ROWS, OUT)) {
            gpu.forkL2Prefetch(op.w(), PREFIX, L2PrefetchMode.LINES);
            gpu.joinL2Prefetches();
            try (StepGraph graph = gpu.capture(() -> {
                gpu.linear(op.x(), op.w(), null, out);
                gpu.forkL2Prefetch(op.w(), PREFIX, L2PrefetchMode.LINES);
            })) {
                assertFalse(gpu.l2PrefetchPending(), "capture joined the open fork");
                gpu.launch(graph);
                gpu.synchronize();
            }
            assertBitsEqual("product of a graph whose fork capture joined", expected, out);
        }
    }

    @Test
    void offQueuesNothing() {
        CudaBackend gpu = cuda();
        try (Tensor w = gpu.upload(random(43, 0.05f, DType.BF16, 64, 64))) {
            long forked = gpu.l2PrefetchesForked();
            gpu.forkL2Prefetch(w, Long.MAX_VALUE, L2PrefetchMode.OFF);
            assertFalse(gpu.l2PrefetchPending(), "OFF forks nothing");
            assertEquals(forked, gpu.l2PrefetchesForked(), "prefetches forked");
            gpu.joinL2Prefetches();
        }
    }

    @Test
    void aViewThatIsNotContiguousIsRefused() {
        CudaBackend gpu = cuda();
        try (Tensor w = gpu.upload(random(44, 0.05f, DType.BF16, 64, 32))) {
            assertThrows(IllegalArgumentException.class,
                    () -> gpu.forkL2Prefetch(w.transpose(0, 1), Long.MAX_VALUE, L2PrefetchMode.LINES));
            assertFalse(gpu.l2PrefetchPending(), "nothing forked");
        }
    }
}
