package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.StepGraph;
import dev.glimpse.kernels.cuda.StepInputs;

import java.io.PrintStream;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Decode attention on the GPU ({@link CudaBackend#decodeAttention}, flash-decoding) over the
 * decoders' shapes: OneVision-0.5B (14 query heads over 2 kv heads of dim 64) and LLaVA-1.5-7B
 * (32 heads of dim 128), caches of capacity {@value #CAPACITY}, key counts from a short prompt to a
 * long video. As in a decode step, the calls are replayed from a CUDA graph with the key count in
 * device memory: one graph of {@value #CALLS_PER_GRAPH} calls (a decoder's layers), replayed
 * {@value #REPLAYS} times after {@value #WARMUP} warm-ups, bracketed by stream synchronisations.
 * Prints one JSON object per line with the time per call.
 */
public final class DecodeAttentionBench {

    static final int CAPACITY = 8192;
    static final int CALLS_PER_GRAPH = 32;
    static final int WARMUP = 5;
    static final int REPLAYS = 50;

    private DecodeAttentionBench() {
    }

    public static void main(String[] args) {
        run(System.out);
    }

    static void run(PrintStream out) {
        try (CudaBackend gpu = CudaBackend.open(CudaOptions.defaults())) {
            for (int[] shape : new int[][] {{14, 2, 64}, {32, 32, 128}}) {
                for (int keys : new int[] {74, 586, 1000, 6300}) {
                    double us = measure(gpu, shape[0], shape[1], shape[2], keys);
                    out.println(String.format(Locale.ROOT,
                            "{\"bench\":\"decode_attention\",\"impl\":\"glimpse\",\"device\":\"%s\",\"q_heads\":%d,"
                                    + "\"kv_heads\":%d,\"head_dim\":%d,\"capacity\":%d,\"keys\":%d,\"us_per_call\":%.2f}",
                            gpu.deviceName(), shape[0], shape[1], shape[2], CAPACITY, keys, us));
                }
            }
        }
    }

    private static double measure(CudaBackend gpu, int hq, int hkv, int d, int keys) {
        float scale = (float) (1 / Math.sqrt(d));
        try (Tensor hostQ = random(1, hq * d, 1, hq, d); Tensor hostK = random(2, hkv * CAPACITY * d, hkv, CAPACITY, d);
             Tensor hostV = random(3, hkv * CAPACITY * d, hkv, CAPACITY, d);
             Tensor q = gpu.upload(hostQ); Tensor keyCache = gpu.upload(hostK); Tensor valueCache = gpu.upload(hostV);
             Tensor out = gpu.allocate(DType.F32, 1, hq, d); StepInputs count = gpu.stepInputs(1)) {
            count.set(0, keys);
            gpu.upload(count);
            gpu.decodeAttention(q, keyCache, valueCache, count.cell(0), scale, out);
            try (StepGraph graph = gpu.capture(() -> {
                gpu.upload(count);
                for (int i = 0; i < CALLS_PER_GRAPH; i++) {
                    gpu.decodeAttention(q, keyCache, valueCache, count.cell(0), scale, out);
                }
            })) {
                for (int i = 0; i < WARMUP; i++) {
                    gpu.launch(graph);
                }
                gpu.synchronize();
                long start = System.nanoTime();
                for (int i = 0; i < REPLAYS; i++) {
                    gpu.launch(graph);
                }
                gpu.synchronize();
                return (System.nanoTime() - start) / 1e3 / REPLAYS / CALLS_PER_GRAPH;
            }
        }
    }

    private static Tensor random(long seed, int n, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] values = new float[n];
        for (int i = 0; i < n; i++) {
            values[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return Tensor.of(values, shape);
    }
}
