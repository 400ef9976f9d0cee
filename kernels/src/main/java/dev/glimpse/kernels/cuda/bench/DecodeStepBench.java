package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.CudaPersistentDecode;
import dev.glimpse.kernels.cuda.LinearTarget;
import dev.glimpse.kernels.cuda.PersistentPhaseTimes;
import dev.glimpse.kernels.cuda.StepGraph;
import dev.glimpse.kernels.cuda.StepInputs;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static dev.glimpse.kernels.cuda.bench.BenchTensors.uniform;

/**
 * The CUDA decode step of a Qwen2-0.5B-shaped decoder (hidden 896, MLP 4864, 14 query heads over
 * 2 kv heads of dim 64, q/k/v biases, bf16 weights; LLaVA-OneVision-0.5B's language model) on
 * random weights: {@value #LAYERS} layers of the fused decode ops {@code DecoderLayer} runs
 * (q/k/v with the input RMSNorm, RoPE + cache append, decode attention, o_proj + residual, gate/up
 * with the post-attention RMSNorm and SiLU, down + residual), captured as one CUDA graph and
 * replayed, with {@value #WEIGHT_SETS} weight sets cycling over the layers so weights stream from
 * HBM (more than the L2) as in the model. Key counts 600 (a prompt) and 6300 (a 32-frame video).
 *
 * <p>Runs the four ways of {@link DecodeAttentionBench#VARIANTS} (decode attention's combine
 * separate or fused, programmatic dependent launch off or on) over F32 and BF16 KV caches (BF16:
 * what a bf16 model's session holds on the GPU by default, {@code -Dglimpse.kvCache}) and prints one
 * JSON line each with the time per layer and the fraction of the HBM roofline (a layer's weight
 * bytes / 4.8 TB/s; {@code rope_attention}: whether {@link CudaBackend#decodeRopeAttentionEnabled} was on), then the same layers as one persistent kernel ({@link CudaPersistentDecode},
 * {@code "combine":"persistent"}; every layer in one launch, so PDL plays no part) and a summary line
 * per cache type and key count; then the wide persistent kernel ({@code "combine":"persistent_wide"},
 * {@code -Dglimpse.cuda.decodeMegakernel=wide}: the same sums, q/k/v and o_proj over four times the row
 * groups). With {@code -Dglimpse.cuda.decodeMegakernel.timers=true} both persistent kernels are the
 * timed ones, and one more eager launch of each per cache type and key count prints where its time
 * went ({@code "bench":"persistent_decode_phases"}: per phase the blocks' work and barrier wait,
 * median and max, and the barrier latency, in us per layer; {@link PersistentPhaseTimes}).
 * The per-layer graph runs once more with the wide decode attention kernel
 * ({@code -Dglimpse.cuda.decodeAttention=wide}, fused, PDL on: a {@code decode_step} line with
 * {@code "attention":"wide"}; the four ways above run the default, the online kernel at this capacity), and
 * the summary gives its time per layer and its speed-up over the fused + PDL way
 * ({@code us_per_layer_wide_attention_pdl}, {@code speedup_wide_attention}).
 *
 * <p>With the argument {@code ropeAttention} it runs only the A/B of
 * {@code -Dglimpse.cuda.decodeRopeAttention} (the decode step's RoPE + KV append folded into the wide decode
 * attention kernel, {@link CudaBackend#ropeAppendKvDecodeAttention}): the per-layer graph with the default
 * settings (fused, PDL on, the wide kernel at this capacity) and the switch off, then on, alternately
 * {@value #AB_ROUNDS} times each (the best of each), per cache type and key count: one
 * {@code decode_step_rope_attention} line each with us per layer off and on and their ratio.
 */
public final class DecodeStepBench {

    static final int HIDDEN = 896;
    static final int INTERMEDIATE = 4864;
    static final int HEADS = 14;
    static final int KV_HEADS = 2;
    static final int HEAD_DIM = 64;
    static final int LAYERS = 24;
    static final int WEIGHT_SETS = 6;
    static final int CAPACITY = 8192;
    static final int WARMUP = 5;
    static final int REPLAYS = 50;
    static final double HBM_BYTES_PER_US = 4.8e6;
    /** Rounds of the {@code ropeAttention} A/B: each way is measured this many times, alternating, and its best kept. */
    static final int AB_ROUNDS = 3;
    private static final float EPS = 1e-6f;

    private DecodeStepBench() {
    }

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("ab")) {
            if (args.length < 4) {
                System.err.println("usage: DecodeStepBench ab <property> <value> <value>...");
                System.exit(2);
            }
            run(System.out, new Ab(args[1], List.of(args).subList(2, args.length)));
        } else if (args.length > 0 && args[0].equals("ropeAttention")) {
            run(System.out, new Ab(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY, List.of("false", "true")));
        } else {
            run(System.out, null);
        }
    }

    /** An in-process A/B of the values of one system property, read at each capture. */
    record Ab(String property, List<String> values) {
    }

    /** One weight set: q, k, v (with biases), o, gate, up, down and the two norms. */
    private record Weights(Tensor inputNorm, Tensor wq, Tensor bq, Tensor wk, Tensor bk, Tensor wv, Tensor bv, Tensor wo,
                           Tensor postNorm, Tensor wg, Tensor wu, Tensor wd) {
        long bytes() {
            long n = 0;
            for (Tensor t : new Tensor[] {wq, wk, wv, wo, wg, wu, wd}) {
                n += t.numel() * t.dtype().byteSize();
            }
            return n;
        }
    }

    /** All the lines (see the class doc), or only the A/B {@code ab} (null: all). */
    static void run(PrintStream out, Ab ab) {
        List<Tensor> owned = new ArrayList<>();
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults()); StepInputs inputs = gpu.stepInputs(2)) {
            List<Weights> sets = new ArrayList<>();
            for (int s = 0; s < WEIGHT_SETS; s++) {
                sets.add(weights(gpu, 1000L * s, owned));
            }
            Tensor x = own(owned, gpu.upload(uniform(8, 1f, DType.F32, 1, HIDDEN)));
            Tensor cos = own(owned, gpu.upload(uniform(9, 1f, DType.F32, 1, HEAD_DIM / 2)));
            Tensor sin = own(owned, gpu.upload(uniform(10, 1f, DType.F32, 1, HEAD_DIM / 2)));
            Tensor hidden = own(owned, gpu.allocate(DType.F32, 1, HIDDEN));
            Tensor q = own(owned, gpu.allocate(DType.F32, 1, HEADS * HEAD_DIM));
            Tensor k = own(owned, gpu.allocate(DType.F32, 1, KV_HEADS * HEAD_DIM));
            Tensor v = own(owned, gpu.allocate(DType.F32, 1, KV_HEADS * HEAD_DIM));
            Tensor attention = own(owned, gpu.allocate(DType.F32, 1, HEADS, HEAD_DIM));
            Tensor residual = own(owned, gpu.allocate(DType.F32, 1, HIDDEN));
            Tensor activated = own(owned, gpu.allocate(DType.F32, 1, INTERMEDIATE));
            for (DType cacheType : new DType[] {DType.F32, DType.BF16}) {
                List<Tensor[]> caches = new ArrayList<>();
                try (Tensor hostCache = uniform(7, 1f, cacheType, KV_HEADS, CAPACITY, HEAD_DIM)) {
                    for (int l = 0; l < LAYERS; l++) {
                        caches.add(new Tensor[] {own(owned, gpu.upload(hostCache)), own(owned, gpu.upload(hostCache))});
                    }
                }
                String cacheName = cacheType.name().toLowerCase(Locale.ROOT);
                Runnable step = () -> {
                    gpu.upload(inputs);
                    gpu.copy(x, hidden);
                    for (int l = 0; l < LAYERS; l++) {
                        Weights w = sets.get(l % WEIGHT_SETS);
                        Tensor[] cache = caches.get(l);
                        gpu.rmsNormLinear(hidden, w.inputNorm(), EPS, List.of(new LinearTarget(w.wq(), w.bq(), q),
                                new LinearTarget(w.wk(), w.bk(), k), new LinearTarget(w.wv(), w.bv(), v)));
                        gpu.ropeAppendKvDecodeAttention(q.reshape(1, HEADS, HEAD_DIM), k.reshape(1, KV_HEADS, HEAD_DIM),
                                v.reshape(1, KV_HEADS, HEAD_DIM), cos, sin, cache[0], cache[1], inputs.cell(0),
                                inputs.cell(1), 0.125f, attention, null);
                        gpu.linearAddResidual(attention.reshape(1, HEADS * HEAD_DIM), w.wo(), null, hidden, residual);
                        gpu.rmsNormGatedMlpIn(residual, w.postNorm(), EPS, w.wg(), null, w.wu(), null, Activation.SILU,
                                activated);
                        gpu.linearAddResidual(activated, w.wd(), null, residual, hidden);
                    }
                };
                double layerBytes = sets.get(0).bytes();
                if (ab != null) {
                    for (int keys : new int[] {600, 6300}) {
                        inputs.set(0, keys - 1);
                        inputs.set(1, keys);
                        out.println(ab.property().equals(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY)
                                ? ropeAttentionLine(gpu, step, cacheName, keys)
                                : abLine(gpu, step, cacheName, keys, ab, layerBytes));
                    }
                    continue;
                }
                List<CudaPersistentDecode.Layer> layers = new ArrayList<>();
                for (int l = 0; l < LAYERS; l++) {
                    Weights w = sets.get(l % WEIGHT_SETS);
                    Tensor[] cache = caches.get(l);
                    layers.add(new CudaPersistentDecode.Layer(w.inputNorm(), w.wq(), w.bq(), w.wk(), w.bk(), w.wv(), w.bv(),
                            w.wo(), null, w.postNorm(), w.wg(), null, w.wu(), null, w.wd(), null, cache[0], cache[1],
                            inputs.cell(0), inputs.cell(1)));
                }
                CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(HEADS, KV_HEADS, HEAD_DIM, EPS, Activation.SILU);
                CudaPersistentDecode persistent = persistentKernel(gpu, "true", shape, layers, hidden, cos, sin);
                CudaPersistentDecode wide = persistentKernel(gpu, "wide", shape, layers, hidden, cos, sin);
                Runnable persistentStep = persistentStep(gpu, inputs, x, hidden, persistent);
                Runnable wideStep = persistentStep(gpu, inputs, x, hidden, wide);
                for (int keys : new int[] {600, 6300}) {
                    inputs.set(0, keys - 1);
                    inputs.set(1, keys);
                    double[] us = new double[DecodeAttentionBench.VARIANTS.length];
                    for (int i = 0; i < us.length; i++) {
                        us[i] = DecodeAttentionBench.withVariant(DecodeAttentionBench.VARIANTS[i], () -> measure(gpu, step));
                        out.println(String.format(Locale.ROOT,
                                "{\"bench\":\"decode_step\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                                        + "\"kv_cache\":\"%s\",\"keys\":%d,\"combine\":\"%s\",\"pdl\":%s,\"pdl_supported\":%s,"
                                        + "\"rope_attention\":%b,\"us_per_layer\":%.2f,\"us_per_step\":%.1f,\"hbm_fraction\":%.3f}",
                                gpu.deviceName(), LAYERS, cacheName, keys, DecodeAttentionBench.VARIANTS[i][0],
                                DecodeAttentionBench.VARIANTS[i][1], gpu.programmaticLaunches(),
                                CudaBackend.decodeRopeAttentionEnabled(), us[i], us[i] * LAYERS,
                                layerBytes / HBM_BYTES_PER_US / us[i]));
                    }
                    double wideAttentionUs = DecodeAttentionBench.withKernel("wide", () -> DecodeAttentionBench.withVariant(
                            DecodeAttentionBench.VARIANTS[3], () -> measure(gpu, step)));
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_step\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                                    + "\"kv_cache\":\"%s\",\"keys\":%d,\"combine\":\"fused\",\"attention\":\"wide\","
                                    + "\"pdl\":true,\"pdl_supported\":%s,\"rope_attention\":%b,\"us_per_layer\":%.2f,"
                                    + "\"us_per_step\":%.1f,\"hbm_fraction\":%.3f}",
                            gpu.deviceName(), LAYERS, cacheName, keys, gpu.programmaticLaunches(),
                            CudaBackend.decodeRopeAttentionEnabled(), wideAttentionUs,
                            wideAttentionUs * LAYERS, layerBytes / HBM_BYTES_PER_US / wideAttentionUs));
                    double persistentUs = persistent == null ? Double.NaN : measure(gpu, persistentStep);
                    out.println(persistentLine(gpu, "persistent", persistent, cacheName, keys, persistentUs, layerBytes));
                    double wideUs = wide == null ? Double.NaN : measure(gpu, wideStep);
                    out.println(persistentLine(gpu, "persistent_wide", wide, cacheName, keys, wideUs, layerBytes));
                    if (persistent != null && persistent.timed()) {
                        out.println(phasesLine(gpu, "persistent", persistent, persistentStep, cacheName, keys, persistentUs));
                    }
                    if (wide != null && wide.timed()) {
                        out.println(phasesLine(gpu, "persistent_wide", wide, wideStep, cacheName, keys, wideUs));
                    }
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_step_summary\",\"kv_cache\":\"%s\",\"keys\":%d,\"us_per_layer_separate\":%.2f,"
                                    + "\"us_per_layer_separate_pdl\":%.2f,\"us_per_layer_fused\":%.2f,"
                                    + "\"us_per_layer_fused_pdl\":%.2f,\"us_per_layer_persistent\":%.2f,"
                                    + "\"us_per_layer_persistent_wide\":%.2f,"
                                    + "\"roofline_us_per_layer\":%.2f,\"speedup_fused_pdl\":%.2f,\"speedup_persistent\":%.2f,"
                                    + "\"speedup_persistent_wide\":%.2f,\"us_per_layer_wide_attention_pdl\":%.2f,"
                                    + "\"speedup_wide_attention\":%.2f}",
                            cacheName, keys, us[0], us[1], us[2], us[3], persistentUs, wideUs, layerBytes / HBM_BYTES_PER_US,
                            us[0] / us[3], us[3] / persistentUs, us[3] / wideUs, wideAttentionUs, us[3] / wideAttentionUs));
                }
                for (CudaPersistentDecode kernel : new CudaPersistentDecode[] {persistent, wide}) {
                    if (kernel != null) {
                        kernel.close();
                    }
                }
            }
        } finally {
            for (Tensor t : owned) {
                t.close();
            }
        }
    }

    /**
     * The {@code decode_step_rope_attention} line: the step's us per layer with
     * {@link CudaBackend#DECODE_ROPE_ATTENTION_PROPERTY} off and on (each the best of {@value #AB_ROUNDS}
     * alternating measurements, each a fresh capture) and off / on.
     */
    private static String ropeAttentionLine(CudaBackend gpu, Runnable step, String cacheName, int keys) {
        double[] best = abBest(gpu, step, new Ab(CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY, List.of("false", "true")));
        double off = best[0];
        double on = best[1];
        return String.format(Locale.ROOT,
                "{\"bench\":\"decode_step_rope_attention\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                        + "\"capacity\":%d,\"kv_cache\":\"%s\",\"keys\":%d,\"pdl_supported\":%s,"
                        + "\"us_per_layer_off\":%.2f,\"us_per_layer_on\":%.2f,\"speedup_on\":%.3f}",
                gpu.deviceName(), LAYERS, CAPACITY, cacheName, keys, gpu.programmaticLaunches(), off, on, off / on);
    }

    /**
     * The step's best us per layer under each of {@code ab}'s values: {@value #AB_ROUNDS} rounds, the
     * values in turn within each, each a fresh capture; the property is restored afterwards.
     */
    private static double[] abBest(CudaBackend gpu, Runnable step, Ab ab) {
        String old = System.getProperty(ab.property());
        double[] best = new double[ab.values().size()];
        java.util.Arrays.fill(best, Double.POSITIVE_INFINITY);
        try {
            for (int round = 0; round < AB_ROUNDS; round++) {
                for (int i = 0; i < best.length; i++) {
                    System.setProperty(ab.property(), ab.values().get(i));
                    best[i] = Math.min(best[i], measure(gpu, step));
                }
            }
        } finally {
            if (old == null) {
                System.clearProperty(ab.property());
            } else {
                System.setProperty(ab.property(), old);
            }
        }
        return best;
    }

    /**
     * The {@code decode_step_ab} line: the step's us per layer under each value of {@code ab} (best of
     * {@value #AB_ROUNDS} alternating captures), each value's ratio first / it (above 1: faster than the
     * first value) and its fraction of the HBM roofline.
     */
    private static String abLine(CudaBackend gpu, Runnable step, String cacheName, int keys, Ab ab, double layerBytes) {
        double[] best = abBest(gpu, step, ab);
        StringBuilder us = new StringBuilder();
        StringBuilder speedup = new StringBuilder();
        StringBuilder roofline = new StringBuilder();
        for (int i = 0; i < best.length; i++) {
            String sep = i == 0 ? "" : ",";
            String key = "\"" + ab.values().get(i) + "\":";
            us.append(sep).append(key).append(String.format(Locale.ROOT, "%.2f", best[i]));
            speedup.append(sep).append(key).append(String.format(Locale.ROOT, "%.3f", best[0] / best[i]));
            roofline.append(sep).append(key).append(String.format(Locale.ROOT, "%.3f", layerBytes / HBM_BYTES_PER_US / best[i]));
        }
        return String.format(Locale.ROOT,
                "{\"bench\":\"decode_step_ab\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                        + "\"capacity\":%d,\"kv_cache\":\"%s\",\"keys\":%d,\"pdl_supported\":%s,\"property\":\"%s\","
                        + "\"us_per_layer\":{%s},\"speedup_over_first\":{%s},\"roofline_fraction\":{%s}}",
                gpu.deviceName(), LAYERS, CAPACITY, cacheName, keys, gpu.programmaticLaunches(), ab.property(), us, speedup,
                roofline);
    }

    /**
     * The persistent kernel {@code variant} ({@link CudaPersistentDecode#PROPERTY}: {@code true} or
     * {@code wide}; timed when {@link CudaPersistentDecode#TIMERS_PROPERTY} is on), or null when the
     * backend refuses the shape.
     */
    private static CudaPersistentDecode persistentKernel(CudaBackend gpu, String variant, CudaPersistentDecode.Shape shape,
                                                        List<CudaPersistentDecode.Layer> layers, Tensor hidden, Tensor cos,
                                                        Tensor sin) {
        String old = System.getProperty(CudaPersistentDecode.PROPERTY);
        System.setProperty(CudaPersistentDecode.PROPERTY, variant);
        try {
            return gpu.persistentDecode(shape, layers, hidden, cos, sin);
        } finally {
            if (old == null) {
                System.clearProperty(CudaPersistentDecode.PROPERTY);
            } else {
                System.setProperty(CudaPersistentDecode.PROPERTY, old);
            }
        }
    }

    /** A step of the persistent kernel: the step inputs and the hidden state reset, then the one launch. */
    private static Runnable persistentStep(CudaBackend gpu, StepInputs inputs, Tensor x, Tensor hidden,
                                           CudaPersistentDecode kernel) {
        return () -> {
            gpu.upload(inputs);
            gpu.copy(x, hidden);
            kernel.enqueue();
        };
    }

    /** The {@code decode_step} line of a persistent kernel ({@code combine} names the variant). */
    private static String persistentLine(CudaBackend gpu, String combine, CudaPersistentDecode kernel, String cacheName,
                                         int keys, double us, double layerBytes) {
        return String.format(Locale.ROOT,
                "{\"bench\":\"decode_step\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                        + "\"kv_cache\":\"%s\",\"keys\":%d,\"combine\":\"%s\",\"grid\":%d,\"aborted\":%b,\"timed\":%b,"
                        + "\"us_per_layer\":%.2f,\"us_per_step\":%.1f,\"hbm_fraction\":%.3f}",
                gpu.deviceName(), LAYERS, cacheName, keys, combine, kernel == null ? 0 : kernel.grid(),
                kernel != null && kernel.aborted(), kernel != null && kernel.timed(), us, us * LAYERS,
                layerBytes / HBM_BYTES_PER_US / us);
    }

    /**
     * One eager launch of the timed persistent kernel (outside any graph, so its records are this launch's),
     * reduced per phase ({@link PersistentPhaseTimes}): a {@code persistent_decode_phases} JSON line.
     */
    private static String phasesLine(CudaBackend gpu, String combine, CudaPersistentDecode persistent, Runnable step,
                                     String cacheName, int keys, double graphUsPerLayer) {
        step.run();
        gpu.synchronize();
        PersistentPhaseTimes times = persistent.phaseTimes();
        String disorder = times.firstDisorder();
        return String.format(Locale.ROOT,
                "{\"bench\":\"persistent_decode_phases\",\"model\":\"qwen2-0.5b\",\"device\":\"%s\",\"layers\":%d,"
                        + "\"kv_cache\":\"%s\",\"keys\":%d,\"combine\":\"%s\",\"grid\":%d,\"aborted\":%b,\"records_forward\":%b,"
                        + "\"timer_resolution_ns\":%d,\"eager_us_per_layer\":%.2f,\"graph_us_per_layer\":%.2f,\"phases\":%s}",
                gpu.deviceName(), LAYERS, cacheName, keys, combine, persistent.grid(), persistent.aborted(), disorder == null,
                times.resolutionNs(), times.spanUs() / LAYERS, graphUsPerLayer, times.phasesJson());
    }

    /** Captures the step with the current properties (after one eager run) and times its replays; us per layer. */
    private static double measure(CudaBackend gpu, Runnable step) {
        step.run();
        gpu.synchronize();
        try (StepGraph graph = gpu.capture(step)) {
            return BenchClock.nanosPerRun(gpu, WARMUP, REPLAYS, () -> gpu.launch(graph)) / 1e3 / LAYERS;
        }
    }

    private static Weights weights(CudaBackend gpu, long seed, List<Tensor> owned) {
        int qn = HEADS * HEAD_DIM;
        int kvn = KV_HEADS * HEAD_DIM;
        return new Weights(upload(gpu, owned, norm(seed)), upload(gpu, owned, uniform(seed + 1, 0.03f, DType.BF16, qn, HIDDEN)),
                upload(gpu, owned, uniform(seed + 2, 0.1f, DType.BF16, qn)),
                upload(gpu, owned, uniform(seed + 3, 0.03f, DType.BF16, kvn, HIDDEN)),
                upload(gpu, owned, uniform(seed + 4, 0.1f, DType.BF16, kvn)),
                upload(gpu, owned, uniform(seed + 5, 0.03f, DType.BF16, kvn, HIDDEN)),
                upload(gpu, owned, uniform(seed + 6, 0.1f, DType.BF16, kvn)),
                upload(gpu, owned, uniform(seed + 7, 0.03f, DType.BF16, HIDDEN, qn)),
                upload(gpu, owned, norm(seed + 8)),
                upload(gpu, owned, uniform(seed + 9, 0.03f, DType.BF16, INTERMEDIATE, HIDDEN)),
                upload(gpu, owned, uniform(seed + 10, 0.03f, DType.BF16, INTERMEDIATE, HIDDEN)),
                upload(gpu, owned, uniform(seed + 11, 0.03f, DType.BF16, HIDDEN, INTERMEDIATE)));
    }

    private static Tensor upload(CudaBackend gpu, List<Tensor> owned, Tensor host) {
        try (host) {
            return own(owned, gpu.upload(host));
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }

    /** An RMSNorm weight: 1 + uniform noise of 0.1, bf16. */
    private static Tensor norm(long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[HIDDEN];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (1 + 0.1 * (r.nextDouble() * 2 - 1));
        }
        Tensor t = Tensor.allocate(DType.BF16, HIDDEN);
        t.copyFrom(v);
        return t;
    }
}
