package dev.glimpse.kernels.bench;

import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cpu.CpuParallel;
import dev.glimpse.kernels.cpu.Gemm;
import dev.glimpse.kernels.cpu.GemmPath;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * {@code glimpse bench kernels}: GEMM/GEMV throughput for both CPU implementations side by side
 * (GEMV also at the Qwen2-0.5B decode shapes, there without OpenBLAS, whose m = 1 path widens the
 * whole BF16/F16 matrix per call), a memory-bandwidth probe to put GEMV in proportion,
 * prefill attention, and top-k selection against a full-sort baseline. Prints one JSON object per
 * measurement, then a short human summary.
 *
 * <p>Every timing is the median of {@link Options#repetitions()} runs after at least
 * {@link Options#warmup()} untimed ones and at least 0.4 s of warm-up. GFLOP/s counts 2mnk; GEMV GB/s counts the weight bytes
 * (streamed once per call). The top-k baseline sorts a copy of every row with
 * {@link Arrays#sort(float[])}, parallel over rows exactly like the selection, so the ratio
 * compares algorithms, not thread counts.
 */
public final class KernelBench {

    /**
     * What to run.
     *
     * @param warmup          untimed runs before each measurement
     * @param repetitions     timed runs; the median is reported
     * @param bandwidthBytes  size of the buffer the bandwidth probe sums
     */
    public record Options(int warmup, int repetitions, long bandwidthBytes) {

        public static Options defaults() {
            return new Options(5, 7, 1L << 30);
        }

        /** Options from command-line flags {@code --warmup N --reps N --bandwidth-mib N}. */
        public static Options parse(String... args) {
            Options o = defaults();
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new IllegalArgumentException(flag + " needs a value (flags: --warmup N --reps N --bandwidth-mib N)");
                }
                int value = Integer.parseInt(args[++i]);
                o = switch (flag) {
                    case "--warmup" -> new Options(value, o.repetitions, o.bandwidthBytes);
                    case "--reps" -> new Options(o.warmup, Math.max(1, value), o.bandwidthBytes);
                    case "--bandwidth-mib" -> new Options(o.warmup, o.repetitions, (long) value << 20);
                    default -> throw new IllegalArgumentException("unknown flag " + flag
                            + " (flags: --warmup N --reps N --bandwidth-mib N)");
                };
            }
            return o;
        }
    }

    /** One measurement: a name, its parameters and its numbers, printable as one JSON line. */
    public record Result(String bench, List<String> fields) {
        public String json() {
            return "{\"bench\":\"" + bench + "\"," + String.join(",", fields) + "}";
        }
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private KernelBench() {
    }

    public static void main(String[] args) {
        run(Options.parse(args), System.out);
    }

    /** Runs every benchmark, printing JSON lines and then a summary to {@code out}. */
    public static List<Result> run(Options options, PrintStream out) {
        List<Result> results = new ArrayList<>();
        List<String> summary = new ArrayList<>();
        out.println("# glimpse kernel bench: " + CpuParallel.threads() + " threads, vector "
                + F.vectorBitSize() + " bits, OpenBLAS " + (Gemm.blasAvailable() ? "loaded" : "unavailable")
                + ", java " + Runtime.version());
        double bandwidth = bandwidth(options, results, out);
        summary.add(String.format(Locale.ROOT, "memory bandwidth (sum over %d MiB): %.1f GB/s",
                options.bandwidthBytes() >> 20, bandwidth));
        int[][] shapes = {{576, 1024, 4096}, {1, 4096, 4096}, {1, 896, 4864}, {1, 4864, 896}, {1, 896, 1152},
                {1, 896, 151936}};
        for (int[] s : shapes) {
            for (DType wt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "linear %dx%dx%d %-4s", s[0], s[1], s[2], wt));
                boolean decodeShape = s[0] == 1 && s[1] != s[2];
                for (GemmPath path : new GemmPath[] {GemmPath.VECTOR, GemmPath.BLAS, GemmPath.AUTO}) {
                    if (path == GemmPath.BLAS && (!Gemm.blasAvailable() || decodeShape)) {
                        continue;
                    }
                    Result r = linear(options, s[0], s[1], s[2], wt, path, bandwidth);
                    results.add(r);
                    out.println(r.json());
                    line.append(String.format(Locale.ROOT, " | %s %s", path.name().toLowerCase(Locale.ROOT),
                            field(r, "gflops") + " GFLOP/s" + (s[0] == 1 ? ", " + field(r, "weight_gbps") + " GB/s ("
                                    + field(r, "bandwidth_fraction") + " of probe)" : "")));
                }
                summary.add(line.toString());
            }
        }
        Result attention = attention(options);
        results.add(attention);
        out.println(attention.json());
        summary.add("attention prefill T=S=600 Hq=14 Hkv=2 D=64 causal: " + field(attention, "median_ms") + " ms, "
                + field(attention, "gflops") + " GFLOP/s");
        for (int n : new int[] {576, 2304, 12544}) {
            for (int rows : new int[] {1, 16, 64}) {
                for (int k : new int[] {n / 4, 64}) {
                    Result r = topK(options, rows, n, k);
                    results.add(r);
                    out.println(r.json());
                    summary.add(String.format(Locale.ROOT, "topk rows=%-3d n=%-6d k=%-5d select %s ms, sort %s ms, ratio %s",
                            rows, n, k, field(r, "median_ms"), field(r, "sort_median_ms"), field(r, "ratio")));
                }
            }
        }
        out.println("# summary");
        summary.forEach(l -> out.println("# " + l));
        return results;
    }

    // ---------------------------------------------------------------- measurements

    private static double bandwidth(Options options, List<Result> results, PrintStream out) {
        long bytes = options.bandwidthBytes() / F.vectorByteSize() * F.vectorByteSize();
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(bytes, 64);
            buffer.fill((byte) 1);
            double ms = medianMs(options, () -> sum(buffer));
            double gbps = bytes / (ms * 1e6);
            Result r = new Result("bandwidth", List.of(num("bytes", bytes), num("median_ms", ms), num("gbps", gbps)));
            results.add(r);
            out.println(r.json());
            return gbps;
        }
    }

    /** Sums the buffer as floats over all threads: a sequential read of every byte. */
    private static float sum(MemorySegment buffer) {
        int threads = CpuParallel.threads();
        long chunk = buffer.byteSize() / threads / F.vectorByteSize() * F.vectorByteSize();
        float[] partial = new float[threads];
        CpuParallel.forRange(threads, 1, (t0, t1) -> {
            for (int t = t0; t < t1; t++) {
                long from = t * chunk;
                long to = t == threads - 1 ? buffer.byteSize() : from + chunk;
                FloatVector a = FloatVector.zero(F);
                FloatVector b = FloatVector.zero(F);
                long step = F.vectorByteSize();
                long e = from;
                for (; e + 2 * step <= to; e += 2 * step) {
                    a = a.add(FloatVector.fromMemorySegment(F, buffer, e, ByteOrder.LITTLE_ENDIAN));
                    b = b.add(FloatVector.fromMemorySegment(F, buffer, e + step, ByteOrder.LITTLE_ENDIAN));
                }
                partial[t] = a.add(b).reduceLanes(VectorOperators.ADD);
            }
        });
        float s = 0;
        for (float p : partial) {
            s += p;
        }
        return s;
    }

    /**
     * One product, timed. GEMV (m = 1) cycles through enough copies of the weights to pass
     * {@link #COLD_WEIGHT_BYTES}, so every call streams its weights from memory as a decoder's
     * layers do, not from a last-level cache that holds a small matrix.
     */
    private static Result linear(Options options, int m, int k, int n, DType wt, GemmPath path, double bandwidth) {
        SplittableRandom random = new SplittableRandom(42);
        long weightBytes = (long) n * k * wt.byteSize();
        int copies = m == 1 ? (int) Math.max(1, Math.min(64, COLD_WEIGHT_BYTES / weightBytes)) : 1;
        Tensor[] weights = new Tensor[copies];
        try (Tensor x = Tensor.allocate(DType.F32, m, k);
             Tensor out = Tensor.allocate(DType.F32, m, n)) {
            x.copyFrom(randomFloats(random, m * k));
            float[] values = randomFloats(random, n * k);
            for (int c = 0; c < copies; c++) {
                weights[c] = Tensor.allocate(wt, n, k);
                weights[c].copyFrom(values);
            }
            int[] next = {0};
            double ms = medianMs(options, () -> {
                Gemm.linear(x, weights[next[0]], null, out, path);
                next[0] = (next[0] + 1) % copies;
                return out.get(0, 0);
            });
            double gflops = 2.0 * m * n * k / (ms * 1e6);
            double weightGbps = weightBytes / (ms * 1e6);
            return new Result("linear", List.of(str("impl", path.name().toLowerCase(Locale.ROOT)),
                    num("m", m), num("k", k), num("n", n), str("wdtype", wt.name()), num("weight_copies", copies),
                    num("median_ms", ms), num("gflops", gflops), num("weight_gbps", weightGbps),
                    num("bandwidth_fraction", weightGbps / bandwidth)));
        } finally {
            for (Tensor w : weights) {
                if (w != null) {
                    w.close();
                }
            }
        }
    }

    /**
     * Prefill attention of a Qwen2-0.5B layer: T = S = 600, 14 query heads over 2 kv heads,
     * D = 64, causal; GFLOP/s counts 4 D flops per visible (query, key) pair and head. Timed after
     * two warm-up rounds: one left the kernels still compiling (11.9 ms against 7.9 ms).
     */
    private static Result attention(Options options) {
        int t = 600;
        int hq = 14;
        int hkv = 2;
        int d = 64;
        SplittableRandom random = new SplittableRandom(11);
        try (CpuBackend backend = new CpuBackend();
             Tensor q = Tensor.of(randomFloats(random, t * hq * d), t, hq, d);
             Tensor k = Tensor.of(randomFloats(random, t * hkv * d), t, hkv, d);
             Tensor v = Tensor.of(randomFloats(random, t * hkv * d), t, hkv, d);
             Tensor out = Tensor.allocate(DType.F32, t, hq, d)) {
            Action call = () -> {
                backend.attention(q, k, v, AttentionMask.causal(0), 0.125f, out, null);
                return out.get(0, 0, 0);
            };
            medianMs(options, call);
            double ms = medianMs(options, call);
            double flops = 4.0 * d * hq * ((double) t * (t + 1) / 2);
            return new Result("attention", List.of(num("t", t), num("s", t), num("hq", hq), num("hkv", hkv), num("d", d),
                    str("mask", "causal"), num("median_ms", ms), num("gflops", flops / (ms * 1e6))));
        }
    }

    private static Result topK(Options options, int rows, int n, int k) {
        SplittableRandom random = new SplittableRandom(7);
        float[] values = randomFloats(random, rows * n);
        try (CpuBackend backend = new CpuBackend(); Tensor scores = Tensor.of(values, rows, n)) {
            double select = medianMs(options, () -> {
                try (TopK top = backend.topK(scores, k, TopK.Order.BY_VALUE)) {
                    return top.values().get(0, 0);
                }
            });
            int grain = Math.max(1, (1 << 15) / n);
            double sort = medianMs(options, () -> {
                float[] firsts = new float[rows];
                CpuParallel.forRange(rows, grain, (r0, r1) -> {
                    for (int r = r0; r < r1; r++) {
                        float[] copy = Arrays.copyOfRange(values, r * n, (r + 1) * n);
                        Arrays.sort(copy);
                        firsts[r] = copy[n - 1];
                    }
                });
                return firsts[0];
            });
            return new Result("topk", List.of(num("rows", rows), num("n", n), num("k", k), str("order", "BY_VALUE"),
                    num("median_ms", select), num("sort_median_ms", sort), num("ratio", select / sort)));
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A measured action; its return value is consumed so the work cannot be optimised away. */
    @FunctionalInterface
    private interface Action {
        float run();
    }

    private static volatile float sink;

    /** GEMV weights are cycled over copies totalling at least this many bytes (64 copies at most). */
    private static final long COLD_WEIGHT_BYTES = 512L << 20;

    /** Warm-up lasts at least this long, so the JIT has compiled the kernels before timing. */
    private static final long WARMUP_NANOS = 400_000_000L;

    private static double medianMs(Options options, Action action) {
        long warmUntil = System.nanoTime() + WARMUP_NANOS;
        for (int i = 0; i < options.warmup() || System.nanoTime() < warmUntil; i++) {
            sink += action.run();
        }
        double[] ms = new double[options.repetitions()];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            sink += action.run();
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }

    private static float[] randomFloats(SplittableRandom random, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    private static String num(String name, double value) {
        return "\"" + name + "\":" + (value == Math.rint(value) && Math.abs(value) < 1e15
                ? Long.toString((long) value) : String.format(Locale.ROOT, "%.4g", value));
    }

    private static String str(String name, String value) {
        return "\"" + name + "\":\"" + value + "\"";
    }

    private static String field(Result r, String name) {
        String prefix = "\"" + name + "\":";
        for (String f : r.fields()) {
            if (f.startsWith(prefix)) {
                return f.substring(prefix.length());
            }
        }
        return "?";
    }
}
