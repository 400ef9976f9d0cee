package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.bytedeco.cuda.global.cudart;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Programmatic dependent launch ({@link GridDependency}) of a Qwen2-0.5B decoder layer's fused
 * decode step (q/k/v with RMSNorm, RoPE + cache append, decode attention, o_proj + residual,
 * gate/up with RMSNorm, down + residual), two layers back to back so every kernel follows another:
 * with PDL on, the eager step and its replayed graph write the same bits as with PDL off, and the
 * captured graph holds programmatic edges (on a GPU of compute capability 9.0+; none with PDL off).
 */
class CudaProgrammaticLaunchTest {

    private static final float EPS = 1e-6f;
    private static final int HIDDEN = 896;
    private static final int INTERMEDIATE = 4864;
    private static final int HEADS = 14;
    private static final int KV_HEADS = 2;
    private static final int HEAD_DIM = 64;
    private static final int CAPACITY = 1024;
    private static final int LAYERS = 2;

    private static float[] host(Tensor device) {
        try (Tensor h = cuda().download(device)) {
            return h.toFloatArray();
        }
    }

    /** One layer's weights and cache on the device. */
    private record Layer(Tensor norm, Tensor wq, Tensor bq, Tensor wk, Tensor bk, Tensor wv, Tensor bv, Tensor wo,
                         Tensor postNorm, Tensor wg, Tensor wu, Tensor wd, Tensor keys, Tensor values) implements AutoCloseable {
        static Layer random(CudaBackend gpu, long seed) {
            int qn = HEADS * HEAD_DIM;
            int kvn = KV_HEADS * HEAD_DIM;
            return new Layer(gpu.upload(gamma(seed, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 1, 0.03f, DType.BF16, qn, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 2, 0.1f, DType.BF16, qn)),
                    gpu.upload(CudaTestSupport.random(seed + 3, 0.03f, DType.BF16, kvn, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 4, 0.1f, DType.BF16, kvn)),
                    gpu.upload(CudaTestSupport.random(seed + 5, 0.03f, DType.BF16, kvn, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 6, 0.1f, DType.BF16, kvn)),
                    gpu.upload(CudaTestSupport.random(seed + 7, 0.03f, DType.BF16, HIDDEN, qn)),
                    gpu.upload(gamma(seed + 8, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 9, 0.03f, DType.BF16, INTERMEDIATE, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 10, 0.03f, DType.BF16, INTERMEDIATE, HIDDEN)),
                    gpu.upload(CudaTestSupport.random(seed + 11, 0.03f, DType.BF16, HIDDEN, INTERMEDIATE)),
                    gpu.upload(CudaTestSupport.random(seed + 12, 1f, DType.F32, KV_HEADS, CAPACITY, HEAD_DIM)),
                    gpu.upload(CudaTestSupport.random(seed + 13, 1f, DType.F32, KV_HEADS, CAPACITY, HEAD_DIM)));
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {norm, wq, bq, wk, bk, wv, bv, wo, postNorm, wg, wu, wd, keys, values}) {
                t.close();
            }
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

    /** Device scratch of one step. */
    private record Scratch(Tensor hidden, Tensor q, Tensor k, Tensor v, Tensor attention, Tensor residual,
                           Tensor activated) implements AutoCloseable {
        static Scratch of(CudaBackend gpu) {
            return new Scratch(gpu.allocate(DType.F32, 1, HIDDEN), gpu.allocate(DType.F32, 1, HEADS * HEAD_DIM),
                    gpu.allocate(DType.F32, 1, KV_HEADS * HEAD_DIM), gpu.allocate(DType.F32, 1, KV_HEADS * HEAD_DIM),
                    gpu.allocate(DType.F32, 1, HEADS, HEAD_DIM), gpu.allocate(DType.F32, 1, HIDDEN),
                    gpu.allocate(DType.F32, 1, INTERMEDIATE));
        }

        @Override
        public void close() {
            for (Tensor t : new Tensor[] {hidden, q, k, v, attention, residual, activated}) {
                t.close();
            }
        }
    }

    /** The fused decode step of DecoderLayer over every layer, from x into s.hidden. */
    private static void step(CudaBackend gpu, Tensor x, List<Layer> layers, Scratch s, Tensor cos, Tensor sin,
                             Tensor length, Tensor keyCount) {
        gpu.copy(x, s.hidden());
        for (Layer l : layers) {
            gpu.rmsNormLinear(s.hidden(), l.norm(), EPS, List.of(new LinearTarget(l.wq(), l.bq(), s.q()),
                    new LinearTarget(l.wk(), l.bk(), s.k()), new LinearTarget(l.wv(), l.bv(), s.v())));
            Tensor q = s.q().reshape(1, HEADS, HEAD_DIM);
            gpu.ropeAppendKv(q, s.k().reshape(1, KV_HEADS, HEAD_DIM), s.v().reshape(1, KV_HEADS, HEAD_DIM), cos, sin,
                    l.keys(), l.values(), length);
            gpu.decodeAttention(q, l.keys(), l.values(), keyCount, 0.125f, s.attention());
            gpu.linearAddResidual(s.attention().reshape(1, HEADS * HEAD_DIM), l.wo(), null, s.hidden(), s.residual());
            gpu.rmsNormGatedMlpIn(s.residual(), l.postNorm(), EPS, l.wg(), null, l.wu(), null, Activation.SILU,
                    s.activated());
            gpu.linearAddResidual(s.activated(), l.wd(), null, s.residual(), s.hidden());
        }
    }

    /** Runs the step eagerly, then captured and replayed, with PDL as given; returns both outputs and the edge count. */
    private static Result run(String pdl) {
        CudaBackend gpu = cuda();
        String old = System.getProperty(CudaBackend.PDL_PROPERTY);
        System.setProperty(CudaBackend.PDL_PROPERTY, pdl);
        List<Layer> layers = List.of(Layer.random(gpu, 200), Layer.random(gpu, 300));
        try (Tensor x = gpu.upload(random(120, 1f, DType.F32, 1, HIDDEN));
             Tensor cos = gpu.upload(random(121, 1f, DType.F32, 1, HEAD_DIM / 2));
             Tensor sin = gpu.upload(random(122, 1f, DType.F32, 1, HEAD_DIM / 2));
             Tensor length = gpu.upload(Tensor.ofInts(new int[] {600}, 1));
             Tensor keyCount = gpu.upload(Tensor.ofInts(new int[] {601}, 1));
             Scratch s = Scratch.of(gpu)) {
            step(gpu, x, layers, s, cos, sin, length, keyCount);
            float[] eager = host(s.hidden());
            try (StepGraph graph = gpu.capture(() -> step(gpu, x, layers, s, cos, sin, length, keyCount))) {
                gpu.launch(graph);
                gpu.launch(graph);
                return new Result(eager, host(s.hidden()), graph.programmaticEdges());
            }
        } finally {
            layers.forEach(Layer::close);
            if (old == null) {
                System.clearProperty(CudaBackend.PDL_PROPERTY);
            } else {
                System.setProperty(CudaBackend.PDL_PROPERTY, old);
            }
        }
    }

    private record Result(float[] eager, float[] replayed, int programmaticEdges) {
    }

    @Test
    void pdlChangesNoBitOfTheDecodeStep() {
        Result on = run("true");
        Result off = run("false");
        assertArrayEquals(off.eager(), on.eager(), "eager step, PDL on vs off");
        assertArrayEquals(off.replayed(), on.replayed(), "replayed step, PDL on vs off");
        assertArrayEquals(on.eager(), on.replayed(), "PDL on: replay vs eager");
        System.out.println("PDL programmatic edges: on " + on.programmaticEdges() + ", off " + off.programmaticEdges()
                + " (device supports PDL: " + cuda().programmaticLaunches() + ")");
    }

    /** On Hopper and newer the driver takes every programmatic launch (no fallback to plain stream order). */
    @Test
    void hopperTakesTheProgrammaticLaunches() {
        CudaBackend gpu = cuda();
        int[] device = new int[1];
        int[] major = new int[1];
        Cuda.check(cudart.cudaGetDevice(device), "cudaGetDevice");
        Cuda.check(cudart.cudaDeviceGetAttribute(major, cudart.cudaDevAttrComputeCapabilityMajor, device[0]),
                "cudaDeviceGetAttribute");
        run("true");
        assertEquals(major[0] >= GridDependency.MIN_MAJOR, gpu.programmaticLaunches(),
                "compute capability " + major[0] + ".x, programmatic launches in use");
    }

    @ParameterizedTest(name = "pdl={0}")
    @ValueSource(strings = {"true", "false"})
    void captureKeepsProgrammaticEdgesExactlyWhenPdlIsOn(String pdl) {
        Result r = run(pdl);
        if (pdl.equals("true") && cuda().programmaticLaunches()) {
            // 6 PDL kernels per layer; at least one edge per layer proves capture kept them (a kernel
            // right after a copy, memset or allocation node gets a plain edge).
            assertTrue(r.programmaticEdges() >= LAYERS, "programmatic edges: " + r.programmaticEdges());
        } else {
            assertEquals(0, r.programmaticEdges(), "programmatic edges with pdl=" + pdl);
        }
    }
}
