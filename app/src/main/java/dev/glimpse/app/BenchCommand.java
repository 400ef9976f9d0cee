package dev.glimpse.app;

import dev.glimpse.kernels.bench.KernelBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code glimpse bench}: the project's benchmarks, each printing JSON lines and a summary. */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Run benchmarks (machine-readable JSON lines, then a '# summary').",
        subcommands = {BenchCommand.Kernels.class})
final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** {@code glimpse bench kernels}: CPU GEMM/GEMV (Vector API vs OpenBLAS), memory bandwidth, top-k. */
    @Command(name = "kernels",
            mixinStandardHelpOptions = true,
            description = {"CPU kernels: GEMM and GEMV GFLOP/s (Vector API and OpenBLAS side by side),",
                    "GEMV as a fraction of measured memory bandwidth, top-k selection vs a full sort.",
                    "Each number is the median of --reps timed runs."})
    static final class Kernels implements Callable<Integer> {

        @Option(names = "--warmup", defaultValue = "3", paramLabel = "N", description = "Untimed runs first. Default: ${DEFAULT-VALUE}.")
        int warmup;

        @Option(names = "--reps", defaultValue = "7", paramLabel = "N", description = "Timed runs. Default: ${DEFAULT-VALUE}.")
        int reps;

        @Option(names = "--bandwidth-mib", defaultValue = "1024", paramLabel = "MIB",
                description = "Buffer size of the bandwidth probe. Default: ${DEFAULT-VALUE}.")
        int bandwidthMib;

        @Override
        public Integer call() {
            if (warmup < 0 || reps < 1 || bandwidthMib < 1) {
                throw new IllegalArgumentException("--warmup must be >= 0, --reps and --bandwidth-mib >= 1");
            }
            KernelBench.run(new KernelBench.Options(warmup, reps, (long) bandwidthMib << 20), System.out);
            return 0;
        }
    }
}
