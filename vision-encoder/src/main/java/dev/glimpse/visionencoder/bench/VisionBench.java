package dev.glimpse.visionencoder.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cpu.CpuParallel;
import dev.glimpse.kernels.cuda.bench.BenchClock;
import dev.glimpse.visionencoder.FeatureSelection;
import dev.glimpse.visionencoder.VisionOutput;
import dev.glimpse.visionencoder.VisionRequest;
import dev.glimpse.visionencoder.VisionTransformer;
import dev.glimpse.visionencoder.VisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;

/**
 * {@code glimpse bench vision}: time per image of a CLIP vision tower shaped like LLaVA-1.5's
 * ViT-L/14-336 (24 layers, hidden 1024, 16 heads, MLP 4096, 577 tokens) with seeded random
 * weights made in memory, for each weight dtype asked (F32 and BF16 by default), on the CPU
 * backend. Prints one JSON line per dtype, then a summary.
 *
 * <p>Flags: {@code --images N} timed images per dtype (default 4), {@code --batch B} images per
 * call (default 1), {@code --warmup N} untimed calls (default 1), {@code --dtypes f32,bf16},
 * {@code --layers N} tower depth (default 24), {@code --llava} to stop at LLaVA's layer -2 (the
 * layers a LLaVA-1.5 request runs) instead of computing {@code last_hidden_state}. Reported: the
 * median and mean milliseconds per image over the timed calls, images/s from the mean, and
 * GFLOP/s counting the matrix products (2 FLOPs per multiply-add).
 */
public final class VisionBench {

    /** What to run. */
    public record Options(int images, int batch, int warmup, List<DType> dtypes, int layers, boolean llava) {

        public static Options parse(String... args) {
            Options o = new Options(4, 1, 1, List.of(DType.F32, DType.BF16), 24, false);
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--llava")) {
                    o = new Options(o.images, o.batch, o.warmup, o.dtypes, o.layers, true);
                    continue;
                }
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value (" + FLAGS + ")");
                }
                String value = args[++i];
                o = switch (flag) {
                    case "--images" -> new Options(positive(flag, value), o.batch, o.warmup, o.dtypes, o.layers, o.llava);
                    case "--batch" -> new Options(o.images, positive(flag, value), o.warmup, o.dtypes, o.layers, o.llava);
                    case "--warmup" -> new Options(o.images, o.batch, Integer.parseInt(value), o.dtypes, o.layers, o.llava);
                    case "--layers" -> new Options(o.images, o.batch, o.warmup, o.dtypes, positive(flag, value), o.llava);
                    case "--dtypes" -> new Options(o.images, o.batch, o.warmup, Arrays.stream(value.split(","))
                            .map(s -> DType.valueOf(s.trim().toUpperCase(Locale.ROOT))).toList(), o.layers, o.llava);
                    default -> throw new IllegalArgumentException("unknown flag " + flag + " (" + FLAGS + ")");
                };
            }
            return o;
        }

        private static int positive(String flag, String value) {
            int v = Integer.parseInt(value);
            if (v < 1) {
                throw new IllegalArgumentException(flag + " must be >= 1, got " + v);
            }
            return v;
        }
    }

    private static final String FLAGS = "flags: --images N --batch B --warmup N --dtypes f32,bf16 --layers N --llava";

    private VisionBench() {
    }

    public static void main(String[] args) {
        run(Options.parse(args), System.out);
    }

    /** ViT-L/14 at 336 px as in openai/clip-vit-large-patch14-336, with {@code layers} layers. */
    public static VisionConfig vitL14x336(int layers) {
        return new VisionConfig(VisionConfig.CLIP, 1024, 4096, layers, 16, 3, 336, 14, "quick_gelu", 1e-5,
                OptionalInt.of(768), false);
    }

    /** Runs the benchmark for each dtype, printing JSON lines and a summary to {@code out}. */
    public static List<String> run(Options options, PrintStream out) {
        VisionConfig config = vitL14x336(options.layers);
        VisionRequest request = options.llava ? VisionRequest.features(FeatureSelection.llava15())
                : VisionRequest.lastHiddenStateAndPooled();
        int layersRun = options.llava ? options.layers - 1 : options.layers;
        int tokens = config.numPatches() + 1;
        double gflopPerImage = flopsPerImage(config, layersRun) / 1e9;
        out.println("# glimpse vision bench: CLIP ViT-L/14-336 shape, random weights, " + CpuParallel.threads()
                + " threads, java " + Runtime.version());
        List<String> results = new ArrayList<>();
        List<String> summary = new ArrayList<>();
        try (CpuBackend backend = new CpuBackend(); Tensor pixels = RandomVisionWeights.pixels(options.batch, config)) {
            for (DType dtype : options.dtypes) {
                Map<String, Tensor> tensors = RandomVisionWeights.generate(config, dtype, 2024);
                try {
                    VisionTransformer encoder = new VisionTransformer(backend, VisionWeights.of(tensors, config));
                    for (int i = 0; i < options.warmup; i++) {
                        encoder.encode(pixels, request).close();
                    }
                    int calls = Math.max(1, (options.images + options.batch - 1) / options.batch);
                    double[] msPerImage = new double[calls];
                    for (int i = 0; i < calls; i++) {
                        long start = System.nanoTime();
                        try (VisionOutput ignored = encoder.encode(pixels, request)) {
                            msPerImage[i] = (System.nanoTime() - start) / 1e6 / options.batch;
                        }
                    }
                    double mean = Arrays.stream(msPerImage).average().orElseThrow();
                    double median = BenchClock.median(msPerImage);
                    String json = String.format(Locale.ROOT, "{\"bench\":\"vision_encoder\",\"model\":\"clip-vit-l-14-336-random\","
                                    + "\"weights\":\"%s\",\"layers_run\":%d,\"tokens\":%d,\"batch\":%d,\"images\":%d,"
                                    + "\"median_ms_per_image\":%.1f,\"mean_ms_per_image\":%.1f,\"images_per_s\":%.4f,"
                                    + "\"gflop_per_image\":%.1f,\"gflops\":%.1f,\"threads\":%d}",
                            dtype, layersRun, tokens, options.batch, calls * options.batch, median, mean, 1000 / mean,
                            gflopPerImage, gflopPerImage / (mean / 1000), CpuParallel.threads());
                    out.println(json);
                    results.add(json);
                    summary.add(String.format(Locale.ROOT, "%-4s weights: %.0f ms/image (median), %.3f images/s, %.1f GFLOP/s",
                            dtype, median, 1000 / mean, gflopPerImage / (mean / 1000)));
                } finally {
                    tensors.values().forEach(Tensor::close);
                }
            }
        }
        out.println("# summary");
        summary.forEach(l -> out.println("# " + l));
        return results;
    }

    /** Matrix-product FLOPs of one image: patch embedding, q/k/v/out, the MLP and attention. */
    static double flopsPerImage(VisionConfig c, int layers) {
        double n = c.numPatches() + 1;
        double e = c.hiddenSize();
        double inner = c.intermediateSize();
        double patch = 2.0 * c.numPatches() * c.numChannels() * c.patchSize() * c.patchSize() * e;
        double perLayer = 2 * n * e * e * 4 + 2 * n * e * inner * 2 + 2 * 2 * n * n * e;
        return patch + layers * perLayer;
    }
}
