package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Decode weight staging ({@link WeightStaging}, {@code -Dglimpse.cuda.decodeWeightStaging}): the
 * {@code _staged} fused decode GEMVs copy their weight rows into shared memory before they wait for
 * the previous kernel and then do the unstaged kernels' arithmetic, so every output must carry the
 * same bits as with staging off: per op (q/k/v with the input RMSNorm, gate/up with the post norm
 * and SiLU, o_proj and down with the residual) at LLaVA-OneVision-0.5B's Qwen2 shapes (896 / 4864,
 * where every launch stages), at shapes whose row counts leave partial groups (904 / 4856, k/v 136),
 * and at Llama-7B's (4096 / 11008, where no launch stages: the fallback), for 1 and 3 rows, each staged
 * run after staged runs over other weights; and for a chain of 24 layers launched back to back and replayed from a CUDA graph, where
 * under {@code early} several kernels stage at once while earlier ones run.
 */
class CudaWeightStagingTest {

    private static final float EPS = 1e-6f;
    private static final int CHAIN_LAYERS = 24;
    private static final int WEIGHT_SETS = 3;

    /** Layers built once per shape, dtype and seed for the whole class (a Llama-7B layer is 404 MB of random weights). */
    private static final Map<String, Layer> LAYERS = new HashMap<>();

    @AfterEach
    void clearProperty() {
        System.clearProperty(WeightStaging.PROPERTY);
    }

    @AfterAll
    static void closeLayers() {
        LAYERS.values().forEach(Layer::close);
        LAYERS.clear();
    }

    private static Layer layer(Shape s, DType t, long seed) {
        return LAYERS.computeIfAbsent(s + "/" + t + "/" + seed, key -> new Layer(s, t, seed));
    }

    /** A decoder's dimensions: hidden, MLP, q rows (= o_proj's k), k/v rows, q/k/v biases. */
    record Shape(String name, int hidden, int intermediate, int qRows, int kvRows, boolean bias) {
        @Override
        public String toString() {
            return name;
        }
    }

    static final Shape QWEN = new Shape("qwen2-0.5b", 896, 4864, 896, 128, true);
    static final Shape LLAMA = new Shape("llama-7b", 4096, 11008, 4096, 4096, false);
    /** Row counts that leave partial groups (and groups past n) in every GEMV, with k % 8 == 0. */
    static final Shape TAILS = new Shape("tails", 904, 4856, 904, 136, true);

    static Stream<Arguments> cases() {
        List<Arguments> cases = new ArrayList<>();
        for (Shape s : new Shape[] {QWEN, TAILS, LLAMA}) {
            for (DType t : new DType[] {DType.BF16, DType.F16}) {
                for (int rows : new int[] {1, 3}) {
                    for (String mode : new String[] {"staged", "early"}) {
                        cases.add(Arguments.of(s, t, rows, mode));
                    }
                }
            }
        }
        return cases.stream();
    }

    /** Runs {@code op} with the property set to {@code mode} (null: cleared, the default) and returns what it gives. */
    private static <T> T under(String mode, Supplier<T> op) {
        if (mode == null) {
            System.clearProperty(WeightStaging.PROPERTY);
        } else {
            System.setProperty(WeightStaging.PROPERTY, mode);
        }
        try {
            return op.get();
        } finally {
            System.clearProperty(WeightStaging.PROPERTY);
        }
    }

    private static float[] host(Tensor device) {
        try (Tensor h = cuda().download(device)) {
            return h.toFloatArray();
        }
    }

    @Test
    void withoutProgrammaticLaunchNothingStages() {
        CudaFusedDecode fused = cuda().fusedDecode();
        String old = System.getProperty(CudaBackend.PDL_PROPERTY);
        System.setProperty(CudaBackend.PDL_PROPERTY, "false");
        try {
            assertEquals(0, under("early", () -> fused.gatedMlpInPlan(1, 4864, 896)).staged());
        } finally {
            if (old == null) {
                System.clearProperty(CudaBackend.PDL_PROPERTY);
            } else {
                System.setProperty(CudaBackend.PDL_PROPERTY, old);
            }
        }
    }

    @Test
    void qwenLaunchesStageAndLlamaMlpLaunchesDoNot() {
        Assumptions.assumeTrue(cuda().programmaticLaunches(), "staging needs programmatic dependent launch (sm_90+)");
        CudaFusedDecode fused = cuda().fusedDecode();
        for (String mode : new String[] {"staged", "early"}) {
            under(mode, () -> {
                List<CudaFusedDecode.GemvLaunch> qwen = List.of(
                        fused.normLinearsPlan(1, 896, new int[] {896, 128, 128}),
                        fused.gatedMlpInPlan(1, 4864, 896),
                        fused.linearResidualPlan(1, 896, 896),
                        fused.linearResidualPlan(1, 896, 4864),
                        fused.gatedMlpInPlan(3, 4864, 896));
                List<CudaFusedDecode.GemvLaunch> tails = List.of(
                        fused.normLinearsPlan(1, 904, new int[] {904, 136, 136}),
                        fused.gatedMlpInPlan(1, 4856, 904),
                        fused.linearResidualPlan(1, 904, 904),
                        fused.linearResidualPlan(1, 904, 4856));
                for (CudaFusedDecode.GemvLaunch plan : Stream.concat(qwen.stream(), tails.stream()).toList()) {
                    assertTrue(plan.staged() > 0, mode + ": a Qwen2-0.5B launch stages: " + plan);
                    assertTrue(plan.name().endsWith("_staged"), plan.toString());
                    assertEquals(mode.equals("early"), plan.early(), plan.toString());
                    assertTrue(plan.shared() <= CudaFusedDecode.STAGE_BYTES, plan.toString());
                }
                for (CudaFusedDecode.GemvLaunch plan : List.of(fused.gatedMlpInPlan(1, 11008, 4096),
                        fused.linearResidualPlan(1, 4096, 11008))) {
                    assertEquals(0, plan.staged(), mode + ": a Llama-7B MLP launch is too large to stage: " + plan);
                    assertFalse(plan.name().endsWith("_staged"), plan.toString());
                }
                return null;
            });
        }
        assertEquals(0, under("early", () -> fused.normLinearsPlan(1, 896, new int[] {0, 0, 0})).staged(),
                "no rows: nothing to stage");
        CudaFusedDecode.GemvLaunch off = under("off", () -> fused.gatedMlpInPlan(1, 4864, 896));
        assertEquals(0, off.staged());
        assertEquals("rms_norm_gated_mlp_in_1", off.name());
        CudaFusedDecode.GemvLaunch byDefault = under(null, () -> fused.gatedMlpInPlan(1, 4864, 896));
        assertTrue(byDefault.staged() > 0 && byDefault.early(), "the default stages, early: " + byDefault);
    }

    @ParameterizedTest(name = "{0} {1} rows={2} {3}")
    @MethodSource("cases")
    void everyFusedOpGivesTheUnstagedBits(Shape s, DType t, int rows, String mode) {
        CudaBackend gpu = cuda();
        Layer layer = layer(s, t, 100);
        Layer decoy = layer(s, t, 900);
        try (Tensor x = gpu.upload(random(1, 1f, DType.F32, rows, s.hidden()));
             Tensor attn = gpu.upload(random(2, 1f, DType.F32, rows, s.qRows()));
             Tensor act = gpu.upload(random(3, 1f, DType.F32, rows, s.intermediate()))) {
            String label = s + " " + t + " rows=" + rows + " " + mode;
            List<float[]> qkvOff = qkv(layer, x, s, rows, "off");
            float[] gatedOff = gatedMlpIn(layer, x, s, rows, "off");
            float[] oOff = residual(layer.o, attn, x, "off");
            float[] downOff = residual(layer.down, act, x, "off");
            // Staged runs over other weights first, so that shared memory holds something else: a read
            // of a staged chunk before its copy landed would not find the right bits there by chance.
            qkv(decoy, x, s, rows, mode);
            gatedMlpIn(decoy, x, s, rows, mode);
            residual(decoy.o, attn, x, mode);
            residual(decoy.down, act, x, mode);
            List<float[]> qkvOn = qkv(layer, x, s, rows, mode);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(qkvOff.get(i), qkvOn.get(i), label + ": q/k/v[" + i + "]");
            }
            assertArrayEquals(gatedOff, gatedMlpIn(layer, x, s, rows, mode), label + ": gate/up");
            assertArrayEquals(oOff, residual(layer.o, attn, x, mode), label + ": o_proj");
            assertArrayEquals(downOff, residual(layer.down, act, x, mode), label + ": down");
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"staged", "early"})
    void aChainOfLayersGivesTheUnstagedBitsEagerAndReplayed(String mode) {
        CudaBackend gpu = cuda();
        Shape s = QWEN;
        List<Layer> layers = new ArrayList<>();
        try (Tensor start = random(7, 1f, DType.F32, 1, s.hidden());
             Tensor x = gpu.allocate(DType.F32, 1, s.hidden());
             Tensor q = gpu.allocate(DType.F32, 1, s.qRows());
             Tensor k = gpu.allocate(DType.F32, 1, s.kvRows());
             Tensor v = gpu.allocate(DType.F32, 1, s.kvRows());
             Tensor act = gpu.allocate(DType.F32, 1, s.intermediate())) {
            for (int i = 0; i < WEIGHT_SETS; i++) {
                layers.add(new Layer(s, DType.BF16, 200 + 20L * i));
            }
            Runnable step = () -> {
                for (int l = 0; l < CHAIN_LAYERS; l++) {
                    Layer w = layers.get(l % WEIGHT_SETS);
                    gpu.rmsNormLinear(x, w.inputNorm, EPS, List.of(new LinearTarget(w.qkv[0], w.qkvBias[0], q),
                            new LinearTarget(w.qkv[1], w.qkvBias[1], k), new LinearTarget(w.qkv[2], w.qkvBias[2], v)));
                    gpu.linearAddResidual(q, w.o, null, x, x);
                    gpu.rmsNormGatedMlpIn(x, w.postNorm, EPS, w.gate, null, w.up, null, Activation.SILU, act);
                    gpu.linearAddResidual(act, w.down, null, x, x);
                }
            };
            float[] eagerOff = under("off", () -> run(gpu, start, x, step));
            float[] eagerOn = under(mode, () -> run(gpu, start, x, step));
            assertArrayEquals(eagerOff, eagerOn, mode + ": " + CHAIN_LAYERS + " layers launched eagerly");
            float[] replayed = under(mode, () -> {
                try (StepGraph graph = gpu.capture(step)) {
                    float[] last = null;
                    for (int replay = 0; replay < 3; replay++) {
                        try (Tensor d = gpu.upload(start)) {
                            gpu.copy(d, x);
                        }
                        gpu.launch(graph);
                        float[] now = host(x);
                        if (last != null) {
                            assertArrayEquals(last, now, mode + ": replay " + replay + " repeats the last");
                        }
                        last = now;
                    }
                    return last;
                }
            });
            assertArrayEquals(eagerOff, replayed, mode + ": " + CHAIN_LAYERS + " layers replayed from a graph");
        } finally {
            layers.forEach(Layer::close);
        }
    }

    private static float[] run(CudaBackend gpu, Tensor start, Tensor x, Runnable step) {
        try (Tensor d = gpu.upload(start)) {
            gpu.copy(d, x);
        }
        step.run();
        return host(x);
    }

    private static List<float[]> qkv(Layer w, Tensor x, Shape s, int rows, String mode) {
        CudaBackend gpu = cuda();
        return under(mode, () -> {
            try (Tensor q = gpu.allocate(DType.F32, rows, s.qRows()); Tensor k = gpu.allocate(DType.F32, rows, s.kvRows());
                 Tensor v = gpu.allocate(DType.F32, rows, s.kvRows())) {
                gpu.rmsNormLinear(x, w.inputNorm, EPS, List.of(new LinearTarget(w.qkv[0], w.qkvBias[0], q),
                        new LinearTarget(w.qkv[1], w.qkvBias[1], k), new LinearTarget(w.qkv[2], w.qkvBias[2], v)));
                return List.of(host(q), host(k), host(v));
            }
        });
    }

    private static float[] gatedMlpIn(Layer w, Tensor x, Shape s, int rows, String mode) {
        CudaBackend gpu = cuda();
        return under(mode, () -> {
            try (Tensor out = gpu.allocate(DType.F32, rows, s.intermediate())) {
                gpu.rmsNormGatedMlpIn(x, w.postNorm, EPS, w.gate, null, w.up, null, Activation.SILU, out);
                return host(out);
            }
        });
    }

    /** out = residual + in w^T into a fresh tensor (the residual is left alone). */
    private static float[] residual(Tensor w, Tensor in, Tensor residual, String mode) {
        CudaBackend gpu = cuda();
        return under(mode, () -> {
            try (Tensor out = gpu.allocate(DType.F32, in.dim(0), w.dim(0))) {
                gpu.linearAddResidual(in, w, null, residual, out);
                return host(out);
            }
        });
    }

    private static Tensor gamma(long seed, DType dtype, int n) {
        float[] v;
        try (Tensor g = random(seed, 0.2f, DType.F32, n)) {
            v = g.toFloatArray();
        }
        for (int i = 0; i < v.length; i++) {
            v[i] += 1f;
        }
        Tensor out = Tensor.allocate(dtype, n);
        out.copyFrom(v);
        return out;
    }

    /** One layer's device weights (random; no q/k/v biases for Llama). */
    private static final class Layer implements AutoCloseable {
        private final List<Tensor> owned = new ArrayList<>();
        final Tensor inputNorm;
        final Tensor postNorm;
        final Tensor[] qkv = new Tensor[3];
        final Tensor[] qkvBias = new Tensor[3];
        final Tensor o;
        final Tensor gate;
        final Tensor up;
        final Tensor down;

        Layer(Shape s, DType t, long seed) {
            inputNorm = upload(gamma(seed, t, s.hidden()));
            postNorm = upload(gamma(seed + 1, t, s.hidden()));
            int[] rows = {s.qRows(), s.kvRows(), s.kvRows()};
            for (int i = 0; i < 3; i++) {
                qkv[i] = upload(random(seed + 2 + i, 0.03f, t, rows[i], s.hidden()));
                qkvBias[i] = s.bias() ? upload(random(seed + 5 + i, 0.1f, t, rows[i])) : null;
            }
            o = upload(random(seed + 8, 0.03f, t, s.hidden(), s.qRows()));
            gate = upload(random(seed + 9, 0.03f, t, s.intermediate(), s.hidden()));
            up = upload(random(seed + 10, 0.03f, t, s.intermediate(), s.hidden()));
            down = upload(random(seed + 11, 0.02f, t, s.hidden(), s.intermediate()));
        }

        private Tensor upload(Tensor host) {
            try (host) {
                Tensor d = cuda().upload(host);
                owned.add(d);
                return d;
            }
        }

        @Override
        public void close() {
            owned.forEach(Tensor::close);
        }
    }
}
