package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Top-k on the GPU over the shapes token pruning sees: n in {576, 2304, 12544} scores (one
 * LLaVA-1.5 image, four, a 64-frame video's patches), batch {1, 16, 64} rows, k = n/4 and 64, both
 * orders. Each measurement is a loop of {@value #ITERATIONS} calls (results closed each time, as
 * a caller would) after {@value #WARMUP} warm-ups, bracketed by stream synchronisations: the time
 * per call includes launch and allocation overhead, like the torch.topk loop
 * {@code tools/device/topk_torch.py} runs for comparison. Every case is run once untimed before
 * the timed pass, so the JIT has compiled the host path before the first measurement (a fresh JVM
 * made the first case 3x slower than the same case later). Prints one JSON object per line.
 */
public final class TopKBench {

    static final int WARMUP = 50;
    static final int ITERATIONS = 300;

    private TopKBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (boolean timed : new boolean[] {false, true}) {
                cases(gpu, timed ? out : null);
            }
        }
    }

    private static void cases(CudaBackend gpu, PrintStream out) {
        for (int n : new int[] {576, 2304, 12544}) {
            for (int batch : new int[] {1, 16, 64}) {
                for (int k : new int[] {n / 4, 64}) {
                    for (TopK.Order order : TopK.Order.values()) {
                        double us = measure(gpu, batch, n, k, order);
                        if (out != null) {
                            out.println(String.format(Locale.ROOT,
                                    "{\"bench\":\"topk\",\"impl\":\"glimpse\",\"device\":\"%s\",\"n\":%d,\"batch\":%d,"
                                            + "\"k\":%d,\"order\":\"%s\",\"us_per_call\":%.2f}",
                                    gpu.deviceName(), n, batch, k, order, us));
                        }
                    }
                }
            }
        }
    }

    private static double measure(CudaBackend gpu, int batch, int n, int k, TopK.Order order) {
        SplittableRandom r = new SplittableRandom(n * 1000L + batch);
        float[] values = new float[batch * n];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) r.nextDouble();
        }
        try (Tensor host = Tensor.of(values, batch, n); Tensor scores = gpu.upload(host)) {
            return BenchClock.nanosPerRun(gpu, WARMUP, ITERATIONS, () -> gpu.topK(scores, k, order).close()) / 1e3;
        }
    }
}
