package dev.glimpse.kernels;

import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Backend#linearStack}'s default (one {@link Backend#linear} per stacked weight) and
 * {@link Backend#linearAddResidual}'s (the linear, then the add). CPU-only.
 */
class BackendLinearStackTest {

    @Test
    void eachOutputIsTheLinearOfItsWeightAndBias() {
        try (CpuBackend cpu = new CpuBackend();
             Tensor x = random(1, DType.F32, 5, 16);
             Tensor w = random(2, DType.BF16, 3, 8, 16);
             Tensor bias = random(3, DType.F32, 3, 8);
             Tensor store = Tensor.allocate(DType.F32, 3, 7, 8);
             Tensor expected = Tensor.allocate(DType.F32, 5, 8)) {
            Tensor out = store.slice(1, 0, 5); // [3, 5, 8] out of [3, 7, 8]: outputs 56 elements apart
            cpu.linearStack(x, w, bias, out);
            for (int i = 0; i < 3; i++) {
                cpu.linear(x, w.select(0, i), bias.select(0, i), expected);
                assertArrayEquals(expected.toFloatArray(), out.select(0, i).toFloatArray(), "output " + i);
            }
        }
    }

    @Test
    void noBiasMeansNone() {
        try (CpuBackend cpu = new CpuBackend();
             Tensor x = random(4, DType.F32, 2, 16);
             Tensor w = random(5, DType.F32, 2, 4, 16);
             Tensor out = Tensor.allocate(DType.F32, 2, 2, 4);
             Tensor expected = Tensor.allocate(DType.F32, 2, 4)) {
            cpu.linearStack(x, w, null, out);
            cpu.linear(x, w.select(0, 1), null, expected);
            assertArrayEquals(expected.toFloatArray(), out.select(0, 1).toFloatArray());
        }
    }

    @Test
    void linearAddResidualIsTheLinearThenTheAdd() {
        try (CpuBackend cpu = new CpuBackend();
             Tensor x = random(8, DType.F32, 6, 16);
             Tensor w = random(9, DType.BF16, 12, 16);
             Tensor bias = random(10, DType.F32, 12);
             Tensor residual = random(11, DType.F32, 6, 12);
             Tensor projected = Tensor.allocate(DType.F32, 6, 12);
             Tensor expected = Tensor.allocate(DType.F32, 6, 12);
             Tensor out = Tensor.allocate(DType.F32, 6, 12)) {
            cpu.linear(x, w, bias, projected);
            cpu.add(residual, projected, expected);
            cpu.linearAddResidual(x, w, bias, residual, out);
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            assertThrows(TensorException.class, () -> cpu.linearAddResidual(x, w, bias, residual, residual),
                    "the default cannot update the residual in place");
        }
    }

    @Test
    void aStackAndOutputOfDifferentCountsAreRejected() {
        try (CpuBackend cpu = new CpuBackend();
             Tensor x = random(6, DType.F32, 2, 16);
             Tensor w = random(7, DType.F32, 3, 4, 16);
             Tensor out = Tensor.allocate(DType.F32, 2, 2, 4)) {
            assertThrows(TensorException.class, () -> cpu.linearStack(x, w, null, out));
        }
    }

    private static Tensor random(long seed, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(dtype, shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-1, 1);
        }
        t.copyFrom(v);
        return t;
    }
}
