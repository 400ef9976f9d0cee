package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.StepGraph;

import java.util.Arrays;

/**
 * How the benches time device work: untimed warm-up runs, a stream synchronisation, then the timed
 * runs bracketed by synchronisations. The backend keeps its stream to itself, so the clock is the
 * host's; a run is typically a graph replay of many calls, so the one synchronisation is small
 * beside it. Also the median the benches report over repeated measurements.
 */
public final class BenchClock {

    private BenchClock() {
    }

    /** Nanoseconds per run: {@code warmup} untimed runs, then the mean of {@code runs} timed ones. */
    public static double nanosPerRun(CudaBackend gpu, int warmup, int runs, Runnable run) {
        for (int i = 0; i < warmup; i++) {
            run.run();
        }
        gpu.synchronize();
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            run.run();
        }
        gpu.synchronize();
        return (double) (System.nanoTime() - start) / runs;
    }

    /**
     * Microseconds per call, the median over {@code rounds}: each round captures {@code calls} calls of
     * {@code call} in one graph (after one eager call that loads kernels and plans) and replays it,
     * {@code warmup} untimed then {@code replays} timed ({@link #nanosPerRun}), as a prefill graph runs them.
     */
    public static double graphMicrosPerCall(CudaBackend gpu, int calls, int warmup, int replays, int rounds,
                                            Runnable call) {
        call.run();
        gpu.synchronize();
        double[] perRound = new double[rounds];
        for (int round = 0; round < rounds; round++) {
            try (StepGraph graph = gpu.capture(() -> {
                for (int i = 0; i < calls; i++) {
                    call.run();
                }
            })) {
                perRound[round] = nanosPerRun(gpu, warmup, replays, () -> gpu.launch(graph)) / 1e3 / calls;
            }
        }
        return median(perRound);
    }

    /** {@code host} uploaded to {@code gpu}, then closed. */
    public static Tensor onDevice(CudaBackend gpu, Tensor host) {
        try (host) {
            return gpu.upload(host);
        }
    }

    /** The median of {@code values} (the mean of the middle two for an even count). */
    public static double median(double... values) {
        double[] s = values.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
