package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Programmatic dependent launch of the prefill and vision kernels ({@code -Dglimpse.cuda.pdlPrefill=true},
 * {@link GridDependency#PREFILL_WAITING_KERNELS}) on the ops of a BF16 Llama prefill block at 74 rows
 * (RMSNorm into the GEMM input, q/k/v, RoPE + KV cache append, attention over the cache storing o_proj's
 * 16-bit input, o_proj + residual, RMSNorm, gate/up, SiLU(gate) * up, down + residual) and of a BF16
 * CLIP-style tower block (token-major LayerNorm, q/k/v, images-as-heads attention with its K/V packing,
 * out_proj + residual, LayerNorm, fc1, quick_gelu, fc2 + residual): eagerly and replayed from a captured
 * graph, the outputs are the bits of the same ops with the property off, and the captured graph holds
 * more programmatic edges with it on than off (on a GPU of compute capability 9.0+; none below).
 */
class CudaPrefillProgrammaticLaunchTest {

    private static final float EPS = 1e-5f;
    private static final int ROWS = 74;
    private static final int HIDDEN = 512;
    private static final int HEADS = 4;
    private static final int HEAD_DIM = 128;
    private static final int MLP = 1024;
    private static final int CAPACITY = 128;
    private static final int TOKENS = 50;
    private static final int TOWER_HIDDEN = 256;
    private static final int TOWER_HEAD_DIM = 64;

    /** Device tensors of one test, closed together. */
    private static final class Owned implements AutoCloseable {
        private final List<Tensor> tensors = new ArrayList<>();

        Tensor upload(Tensor hostTensor) {
            try (hostTensor) {
                return keep(cuda().upload(hostTensor));
            }
        }

        Tensor allocate(DType dtype, int... shape) {
            return keep(cuda().allocate(dtype, shape));
        }

        private Tensor keep(Tensor t) {
            tensors.add(t);
            return t;
        }

        @Override
        public void close() {
            tensors.forEach(Tensor::close);
        }
    }

    private static Tensor gamma(long seed, int n) {
        try (Tensor g = random(seed, 0.2f, DType.F32, n)) {
            float[] v = g.toFloatArray();
            for (int i = 0; i < v.length; i++) {
                v[i] += 1f;
            }
            Tensor out = Tensor.allocate(DType.BF16, n);
            out.copyFrom(v);
            return out;
        }
    }

    /** The eager and the replayed output of one run, and the captured graph's programmatic edges. */
    private record Result(float[] eager, float[] replayed, int programmaticEdges) {
    }

    /**
     * Runs {@code ops} once to settle the cuBLASLt choices, once more eagerly (its output kept), then
     * captured and replayed twice, all under {@code -Dglimpse.cuda.pdlPrefill=pdlPrefill}.
     */
    private static Result run(String pdlPrefill, Runnable ops, Tensor out) {
        CudaBackend gpu = cuda();
        return CudaTestSupport.withProperties(Map.of(CudaBackend.PDL_PREFILL_PROPERTY, pdlPrefill), () -> {
            ops.run();
            ops.run();
            float[] eager = host(out);
            try (StepGraph graph = gpu.capture(ops)) {
                gpu.launch(graph);
                gpu.launch(graph);
                return new Result(eager, host(out), graph.programmaticEdges());
            }
        });
    }

    private static void assertPdlChangesNoBit(String what, Runnable ops, Tensor out) {
        Result off = run("false", ops, out);
        Result on = run("true", ops, out);
        assertArrayEquals(off.eager(), on.eager(), what + ": eager, pdlPrefill on vs off");
        assertArrayEquals(off.replayed(), on.replayed(), what + ": replayed, pdlPrefill on vs off");
        if (cuda().programmaticLaunches()) {
            // More than with it off, not "none then": cuBLASLt may chain its own kernels programmatically.
            assertTrue(on.programmaticEdges() > off.programmaticEdges(), what + ": programmatic edges with pdlPrefill on "
                    + on.programmaticEdges() + ", off " + off.programmaticEdges());
        } else {
            assertEquals(0, on.programmaticEdges(), what + ": programmatic edges on a GPU without PDL");
        }
        System.out.println("GPU-PARITY pdl-prefill " + what + ": bit-identical; programmatic edges on "
                + on.programmaticEdges() + ", off " + off.programmaticEdges() + " (device supports PDL: "
                + cuda().programmaticLaunches() + ")");
    }

    @Test
    void pdlChangesNoBitOfALlamaPrefillBlock() {
        CudaBackend gpu = cuda();
        int width = HEADS * HEAD_DIM;
        try (Owned t = new Owned()) {
            Tensor x = t.upload(random(1, 1f, DType.F32, ROWS, HIDDEN));
            Tensor inputNorm = t.upload(gamma(2, HIDDEN));
            Tensor postNorm = t.upload(gamma(3, HIDDEN));
            Tensor wq = t.upload(random(4, 0.04f, DType.BF16, width, HIDDEN));
            Tensor wk = t.upload(random(5, 0.04f, DType.BF16, width, HIDDEN));
            Tensor wv = t.upload(random(6, 0.04f, DType.BF16, width, HIDDEN));
            Tensor wo = t.upload(random(7, 0.04f, DType.BF16, HIDDEN, width));
            Tensor wg = t.upload(random(8, 0.04f, DType.BF16, MLP, HIDDEN));
            Tensor wu = t.upload(random(9, 0.04f, DType.BF16, MLP, HIDDEN));
            Tensor wd = t.upload(random(10, 0.03f, DType.BF16, HIDDEN, MLP));
            Tensor cos = t.upload(random(11, 1f, DType.F32, ROWS, HEAD_DIM / 2));
            Tensor sin = t.upload(random(12, 1f, DType.F32, ROWS, HEAD_DIM / 2));
            Tensor keys = t.upload(random(13, 1f, DType.BF16, HEADS, CAPACITY, HEAD_DIM));
            Tensor values = t.upload(random(14, 1f, DType.BF16, HEADS, CAPACITY, HEAD_DIM));
            Tensor normed = t.allocate(DType.BF16, ROWS, HIDDEN);
            Tensor q = t.allocate(DType.F32, ROWS, width);
            Tensor k = t.allocate(DType.F32, ROWS, width);
            Tensor v = t.allocate(DType.F32, ROWS, width);
            Tensor attended = t.allocate(DType.BF16, ROWS, HEADS, HEAD_DIM);
            Tensor residual = t.allocate(DType.F32, ROWS, HIDDEN);
            Tensor gate = t.allocate(DType.F32, ROWS, MLP);
            Tensor up = t.allocate(DType.F32, ROWS, MLP);
            Tensor activated = t.allocate(DType.BF16, ROWS, MLP);
            Tensor out = t.allocate(DType.F32, ROWS, HIDDEN);
            Runnable block = () -> {
                gpu.rmsNorm(x, inputNorm, EPS, normed);
                gpu.linear(normed, wq, null, q);
                gpu.linear(normed, wk, null, k);
                gpu.linear(normed, wv, null, v);
                Tensor qh = q.reshape(ROWS, HEADS, HEAD_DIM);
                gpu.ropeAppendKvRows(qh, k.reshape(ROWS, HEADS, HEAD_DIM), v.reshape(ROWS, HEADS, HEAD_DIM), cos, sin,
                        keys, values, 0);
                boolean half = gpu.attentionHalfOutput(qh, keys.slice(1, 0, ROWS).transpose(0, 1),
                        values.slice(1, 0, ROWS).transpose(0, 1), AttentionMask.causal(0),
                        (float) (1 / Math.sqrt(HEAD_DIM)), attended, AttentionPrecision.BF16);
                assertTrue(half, "the in-place cache kernel with 16-bit output runs");
                gpu.linearAddResidual(attended.reshape(ROWS, width), wo, null, x, residual);
                gpu.rmsNorm(residual, postNorm, EPS, normed);
                gpu.linear(normed, wg, null, gate);
                gpu.linear(normed, wu, null, up);
                gpu.gatedActivation(Activation.SILU, gate, up, activated);
                gpu.linearAddResidual(activated, wd, null, residual, out);
            };
            assertPdlChangesNoBit("llama prefill block (" + ROWS + " rows)", block, out);
        }
    }

    @Test
    void pdlChangesNoBitOfAClipTowerBlock() {
        CudaBackend gpu = cuda();
        int heads = TOWER_HIDDEN / TOWER_HEAD_DIM;
        try (Owned t = new Owned()) {
            Tensor h = t.upload(random(21, 1f, DType.F32, 1, TOKENS, TOWER_HIDDEN));
            Tensor g1 = t.upload(gamma(22, TOWER_HIDDEN));
            Tensor b1 = t.upload(random(23, 0.1f, DType.BF16, TOWER_HIDDEN));
            Tensor g2 = t.upload(gamma(24, TOWER_HIDDEN));
            Tensor b2 = t.upload(random(25, 0.1f, DType.BF16, TOWER_HIDDEN));
            Tensor wq = t.upload(random(26, 0.06f, DType.BF16, TOWER_HIDDEN, TOWER_HIDDEN));
            Tensor wk = t.upload(random(27, 0.06f, DType.BF16, TOWER_HIDDEN, TOWER_HIDDEN));
            Tensor wv = t.upload(random(28, 0.06f, DType.BF16, TOWER_HIDDEN, TOWER_HIDDEN));
            Tensor wo = t.upload(random(29, 0.06f, DType.BF16, TOWER_HIDDEN, TOWER_HIDDEN));
            Tensor bo = t.upload(random(30, 0.1f, DType.BF16, TOWER_HIDDEN));
            Tensor w1 = t.upload(random(31, 0.06f, DType.BF16, MLP, TOWER_HIDDEN));
            Tensor bias1 = t.upload(random(32, 0.1f, DType.BF16, MLP));
            Tensor w2 = t.upload(random(33, 0.03f, DType.BF16, TOWER_HIDDEN, MLP));
            Tensor bias2 = t.upload(random(34, 0.1f, DType.BF16, TOWER_HIDDEN));
            Tensor tokenMajor = t.allocate(DType.BF16, TOKENS, 1, TOWER_HIDDEN);
            Tensor q = t.allocate(DType.F32, TOKENS, TOWER_HIDDEN);
            Tensor k = t.allocate(DType.F32, TOKENS, TOWER_HIDDEN);
            Tensor v = t.allocate(DType.F32, TOKENS, TOWER_HIDDEN);
            Tensor attended = t.allocate(DType.BF16, 1, TOKENS, TOWER_HIDDEN);
            Tensor mid = t.allocate(DType.F32, TOKENS, TOWER_HIDDEN);
            Tensor normed = t.allocate(DType.BF16, TOKENS, TOWER_HIDDEN);
            Tensor fc1 = t.allocate(DType.F32, TOKENS, MLP);
            Tensor activated = t.allocate(DType.BF16, TOKENS, MLP);
            Tensor out = t.allocate(DType.F32, TOKENS, TOWER_HIDDEN);
            Runnable block = () -> {
                gpu.layerNormTokenMajor(h, g1, b1, EPS, tokenMajor);
                Tensor rows = tokenMajor.reshape(TOKENS, TOWER_HIDDEN);
                gpu.linear(rows, wq, null, q);
                gpu.linear(rows, wk, null, k);
                gpu.linear(rows, wv, null, v);
                gpu.attentionImagesAsHeads(q.reshape(TOKENS, heads, TOWER_HEAD_DIM), k.reshape(TOKENS, heads, TOWER_HEAD_DIM),
                        v.reshape(TOKENS, heads, TOWER_HEAD_DIM), (float) (1 / Math.sqrt(TOWER_HEAD_DIM)), attended,
                        AttentionPrecision.BF16);
                gpu.linearAddResidual(attended.reshape(TOKENS, TOWER_HIDDEN), wo, bo, h.reshape(TOKENS, TOWER_HIDDEN), mid);
                gpu.layerNorm(mid, g2, b2, EPS, normed);
                gpu.linear(normed, w1, bias1, fc1);
                gpu.activation(Activation.QUICK_GELU, fc1, activated);
                gpu.linearAddResidual(activated, w2, bias2, mid, out);
            };
            assertPdlChangesNoBit("clip tower block (" + TOKENS + " tokens)", block, out);
        }
    }
}
