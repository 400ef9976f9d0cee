package dev.glimpse.visionencoder.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.bench.BenchClock;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionLayout;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTaps;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.VisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.stream.IntStream;

/**
 * The CUDA vision tower with its GEMM epilogues on and off ({@link CudaBackend#GEMM_EPILOGUES_PROPERTY}),
 * with the epilogues and the copy-free images-as-heads layout ({@link VisionLayout}: token-major
 * layer_norm1, q/k/v as one stacked product; variant {@code layout}), that with programmatic
 * dependent launch of the tower's small kernels ({@link CudaBackend#PDL_PREFILL_PROPERTY}; variant
 * {@code layout_pdl}), and that with the lean small passes ({@link CudaBackend#TOWER_LEAN_PROPERTY}:
 * K and V packed in one launch, quick_gelu four elements per thread, a batch of one image storing
 * out_proj's 16-bit input from the attention kernel; variant {@code lean}, the A/B of {@code layout};
 * {@code lean_pdl} has both), and lean with fc1 written in 16 bits and its activation applied in place
 * ({@link CudaBackend#TOWER_MLP16_PROPERTY}: CLIP's quick_gelu; SigLIP's gelu_tanh keeps its epilogue, so
 * there it runs as {@code lean}; variant {@code lean_mlp16}, the A/B of {@code lean}); shape {@code clip-l-336-vtc}
 * is LLaVA-1.5's tower with VTC-CLS's [CLS] taps (layers 16..22, as a 64-token request runs it) under the
 * defaults ({@code lean_mlp16}) and with its [CLS] rows in one launch per layer
 * ({@link CudaBackend#VTC_FUSED_PROPERTY}; variant {@code vtc_fused}, the A/B of {@code lean_mlp16} there;
 * {@code clip-l-336}'s {@code lean_mlp16} is the same tower untapped):
 * seeded random BF16 weights shaped like LLaVA-OneVision's SigLIP so400m (the 26 layers its config
 * keeps, 384 px, 729 tokens, 32 frames as one batch: 23,328 rows) and LLaVA-1.5's CLIP ViT-L/14-336 (one image), each
 * pass replayed from its CUDA graph as in serving. Each variant gets its own tower (its own graphs,
 * captured under its setting); the variants alternate round by round so clock drift hits both.
 * Prints one JSON line per shape and variant: median milliseconds per pass and per layer.
 *
 * <p>Flags: {@code --shapes siglip-so400m-32,clip-l-336,clip-l-336-vtc} (default the first two), {@code --rounds N}
 * (default 7), {@code --calls N} passes per round (default 5).
 */
public final class CudaVisionTowerBench {

    private static final String FLAGS = "flags: --shapes siglip-so400m-32,clip-l-336,clip-l-336-vtc --rounds N --calls N";

    /** A benchmarked setting: the epilogues, layout, prefill-PDL, tower lean, tower MLP16 and fused-row properties' values. */
    private record Variant(String epilogues, String layout, String pdlPrefill, String lean, String mlp16,
                           String vtcFused) {
        Variant(String epilogues, String layout, String pdlPrefill, String lean, String mlp16) {
            this(epilogues, layout, pdlPrefill, lean, mlp16, "false");
        }

        void apply() {
            System.setProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY, epilogues);
            System.setProperty(VisionLayout.PROPERTY, layout);
            System.setProperty(CudaBackend.PDL_PREFILL_PROPERTY, pdlPrefill);
            System.setProperty(CudaBackend.TOWER_LEAN_PROPERTY, lean);
            System.setProperty(CudaBackend.TOWER_MLP16_PROPERTY, mlp16);
            System.setProperty(CudaBackend.VTC_FUSED_PROPERTY, vtcFused);
        }
    }

    /** A benchmarked tower: config, images per pass, the features it returns and the attention it taps. */
    private record Shape(String name, VisionConfig config, int batch, FeatureSelection selection, VisionTaps taps) {
        Shape(String name, VisionConfig config, int batch, FeatureSelection selection) {
            this(name, config, batch, selection, VisionTaps.NONE);
        }
    }

    private CudaVisionTowerBench() {
    }

    public static void main(String[] args) {
        List<String> shapes = List.of("siglip-so400m-32", "clip-l-336");
        int rounds = 7;
        int calls = 5;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--shapes" -> shapes = Arrays.asList(args[i + 1].split(","));
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--calls" -> calls = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown flag " + args[i] + " (" + FLAGS + ")");
            }
        }
        if (args.length % 2 != 0) {
            throw new IllegalArgumentException(args[args.length - 1] + " needs a value (" + FLAGS + ")");
        }
        try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, 0))) {
            for (String name : shapes) {
                run(gpu, shape(name), rounds, calls, System.out);
            }
        }
    }

    private static Shape shape(String name) {
        return switch (name) {
            case "siglip-so400m-32" -> new Shape(name, new VisionConfig(VisionConfig.SIGLIP, 1152, 4304, 26, 16, 3, 384, 14,
                    "gelu_pytorch_tanh", 1e-6, OptionalInt.empty(), false), 32, FeatureSelection.of(-1, "full"));
            case "clip-l-336" -> new Shape(name, VisionBench.vitL14x336(24), 1, FeatureSelection.llava15());
            case "clip-l-336-vtc" -> new Shape(name, VisionBench.vitL14x336(24), 1, FeatureSelection.llava15(),
                    VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION), IntStream.rangeClosed(16, 22).toArray()));
            default -> throw new IllegalArgumentException("unknown shape " + name + " (" + FLAGS + ")");
        };
    }

    /**
     * Times the shape's tower with the epilogues on and off, with the layout on, and with the layout
     * and programmatic dependent launch and/or the lean passes (and the 16-bit MLP) on, printing one JSON
     * line per variant; a tapped shape runs only the defaults and the fused [CLS] rows. The weights are
     * placed once with the layout on (q/k/v concatenated; the other variants multiply the separate views of it).
     */
    private static void run(CudaBackend gpu, Shape shape, int rounds, int calls, PrintStream out) {
        VisionConfig config = shape.config();
        VisionRequest request = VisionRequest.features(shape.selection()).withTaps(shape.taps());
        Map<String, Tensor> tensors = RandomVisionWeights.generate(config, DType.BF16, 2024);
        Map<String, Variant> variants = new LinkedHashMap<>();
        if (!shape.taps().layers().isEmpty()) {
            variants.put("lean_mlp16", new Variant("true", "true", "false", "true", "true"));
            variants.put("vtc_fused", new Variant("true", "true", "false", "true", "true", "true"));
        } else {
            putUntappedVariants(variants);
        }
        String previous = System.getProperty(CudaBackend.GEMM_EPILOGUES_PROPERTY);
        String previousLayout = System.getProperty(VisionLayout.PROPERTY);
        String previousPdl = System.getProperty(CudaBackend.PDL_PREFILL_PROPERTY);
        String previousLean = System.getProperty(CudaBackend.TOWER_LEAN_PROPERTY);
        String previousMlp16 = System.getProperty(CudaBackend.TOWER_MLP16_PROPERTY);
        String previousVtcFused = System.getProperty(CudaBackend.VTC_FUSED_PROPERTY);
        try (ResidentWeights store = new ResidentWeights(gpu);
             Tensor hostPixels = RandomVisionWeights.pixels(shape.batch(), config);
             Tensor pixels = gpu.upload(hostPixels)) {
            System.setProperty(VisionLayout.PROPERTY, "true");
            VisionWeights weights = VisionWeights.of(tensors, config).on(store);
            Map<String, VisionTransformer> towers = new LinkedHashMap<>();
            Map<String, List<Double>> msPerPass = new LinkedHashMap<>();
            for (Map.Entry<String, Variant> v : variants.entrySet()) {
                v.getValue().apply();
                VisionTransformer tower = new VisionTransformer(gpu, weights);
                for (int i = 0; i < 3; i++) { // op by op, capture, first replay
                    tower.encode(pixels, request).close();
                }
                gpu.synchronize();
                towers.put(v.getKey(), tower);
                msPerPass.put(v.getKey(), new ArrayList<>());
            }
            for (int r = 0; r < rounds; r++) {
                for (Map.Entry<String, Variant> v : variants.entrySet()) {
                    v.getValue().apply();
                    VisionTransformer tower = towers.get(v.getKey());
                    long start = System.nanoTime();
                    for (int c = 0; c < calls; c++) {
                        tower.encode(pixels, request).close();
                    }
                    gpu.synchronize();
                    msPerPass.get(v.getKey()).add((System.nanoTime() - start) / 1e6 / calls);
                }
            }
            towers.values().forEach(VisionTransformer::close);
            for (Map.Entry<String, List<Double>> e : msPerPass.entrySet()) {
                double median = BenchClock.median(e.getValue().stream().mapToDouble(Double::doubleValue).toArray());
                out.println(String.format(Locale.ROOT, "{\"bench\":\"cuda_vision_tower\",\"shape\":\"%s\",\"variant\":\"%s\","
                                + "\"device\":\"%s\",\"batch\":%d,\"rows\":%d,\"layers\":%d,\"median_ms_per_pass\":%.3f,"
                                + "\"median_ms_per_layer\":%.4f,\"rounds\":%d,\"calls_per_round\":%d}",
                        shape.name(), e.getKey(), gpu.deviceName(), shape.batch(),
                        shape.batch() * (config.numPatches() + (config.modelType().equals(VisionConfig.CLIP) ? 1 : 0)),
                        config.numHiddenLayers(), median, median / config.numHiddenLayers(), rounds, calls));
            }
        } finally {
            tensors.values().forEach(Tensor::close);
            restore(CudaBackend.GEMM_EPILOGUES_PROPERTY, previous);
            restore(VisionLayout.PROPERTY, previousLayout);
            restore(CudaBackend.PDL_PREFILL_PROPERTY, previousPdl);
            restore(CudaBackend.TOWER_LEAN_PROPERTY, previousLean);
            restore(CudaBackend.TOWER_MLP16_PROPERTY, previousMlp16);
            restore(CudaBackend.VTC_FUSED_PROPERTY, previousVtcFused);
        }
    }

    /** The variants of an untapped tower: epilogues off and on, the layout, PDL, lean and the 16-bit MLP. */
    private static void putUntappedVariants(Map<String, Variant> variants) {
        variants.put("epilogues", new Variant("true", "false", "false", "false", "false"));
        variants.put("noepi", new Variant("false", "false", "false", "false", "false"));
        variants.put("layout", new Variant("true", "true", "false", "false", "false"));
        variants.put("layout_pdl", new Variant("true", "true", "true", "false", "false"));
        variants.put("lean", new Variant("true", "true", "false", "true", "false"));
        variants.put("lean_pdl", new Variant("true", "true", "true", "true", "false"));
        variants.put("lean_mlp16", new Variant("true", "true", "false", "true", "true"));
    }

    private static void restore(String property, String previous) {
        if (previous == null) {
            System.clearProperty(property);
        } else {
            System.setProperty(property, previous);
        }
    }
}
