package dev.glimpse.kernels.cuda.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.SplittableRandom;

/** The benches' seeded host inputs. */
final class BenchTensors {

    private BenchTensors() {
    }

    /** A host tensor of {@code dtype} with values uniform in [-scale, scale), seeded, rounded to the dtype. */
    static Tensor uniform(long seed, float scale, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(dtype, shape);
        float[] values = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        t.copyFrom(values);
        return t;
    }
}
