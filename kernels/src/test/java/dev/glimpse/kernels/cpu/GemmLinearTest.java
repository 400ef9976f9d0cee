package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code linear} against a naive double-accumulation reference, for both implementations and
 * every weight dtype. Tolerance: |got - ref| <= 1e-4 * (sum_k |x w| + |bias|) + 1e-6, i.e. 1e-4
 * relative to the magnitude of the dot product (the reference uses the same rounded weights).
 */
class GemmLinearTest {

    private static final int[] ROWS = {0, 1, 3, 17, 64, 130};
    /** k = 2085 reaches the unrolled BF16 decode kernel (k >= 2048) with a partial unroll and a scalar tail. */
    private static final int[][] IN_OUT = {{1, 7}, {7, 1}, {33, 33}, {257, 7}, {7, 257}, {257, 257}, {2085, 5}};

    static Stream<Arguments> shapes() {
        List<Arguments> cases = new ArrayList<>();
        int c = 0;
        for (GemmPath path : new GemmPath[] {GemmPath.VECTOR, GemmPath.BLAS}) {
            for (DType wt : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                for (int m : ROWS) {
                    for (int[] kn : IN_OUT) {
                        DType bias = switch (c++ % 4) {
                            case 0 -> null;
                            case 1 -> DType.F32;
                            case 2 -> DType.BF16;
                            default -> DType.F16;
                        };
                        cases.add(Arguments.of(path, wt, m, kn[0], kn[1], bias));
                    }
                }
            }
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} w={1} m={2} k={3} n={4} bias={5}")
    @MethodSource("shapes")
    void matchesTheNaiveReferenceForEveryShapeDtypeAndBias(GemmPath path, DType wt, int m, int k, int n, DType biasType) {
        SplittableRandom random = new SplittableRandom(m * 31L + k * 7L + n);
        try (Tensor x = random(random, DType.F32, m, k);
             Tensor w = random(random, wt, n, k);
             Tensor bias = biasType == null ? null : random(random, biasType, n);
             Tensor out = Tensor.allocate(DType.F32, m, n)) {
            Gemm.linear(x, w, bias, out, path);
            assertClose(reference(x, w, bias), out);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmPath.class, names = {"VECTOR", "BLAS"})
    void readsATransposedNonContiguousInput(GemmPath path) {
        SplittableRandom random = new SplittableRandom(3);
        try (Tensor storage = random(random, DType.F32, 33, 17);
             Tensor w = random(random, DType.BF16, 9, 33);
             Tensor out = Tensor.allocate(DType.F32, 17, 9)) {
            Tensor x = storage.transpose(0, 1);
            Gemm.linear(x, w, null, out, path);
            assertClose(reference(x, w, null), out);
        }
    }

    @ParameterizedTest
    @EnumSource(value = GemmPath.class, names = {"VECTOR", "BLAS"})
    void readsRowStridedInputWithLeadingDimensionsInPlace(GemmPath path) {
        SplittableRandom random = new SplittableRandom(4);
        try (Tensor storage = random(random, DType.F32, 2, 9, 40);
             Tensor w = random(random, DType.F32, 21, 33);
             Tensor out = Tensor.allocate(DType.F32, 2, 9, 21)) {
            Tensor x = storage.slice(2, 5, 38);
            Gemm.linear(x, w, null, out, path);
            assertClose(reference(x, w, null), out);
        }
    }

    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"F32", "BF16", "F16"})
    void readsWeightsAtAnOddElementOffsetAndAnOddByteAddress(DType wt) {
        SplittableRandom random = new SplittableRandom(5);
        int n = 19;
        int k = 37;
        try (Arena arena = Arena.ofShared();
             Tensor x = random(random, DType.F32, 6, k);
             Tensor out = Tensor.allocate(DType.F32, 6, n)) {
            MemorySegment raw = arena.allocate((long) (n * k + 8) * wt.byteSize() + 1, 64);
            Tensor oddElement = Tensor.strided(raw, Device.CPU, wt, new int[] {n, k}, new long[] {k, 1}, 3);
            Tensor oddByte = Tensor.wrap(raw.asSlice(1), wt, n, k);
            for (Tensor w : List.of(oddElement, oddByte)) {
                w.copyFrom(floats(random, n * k));
                for (GemmPath path : new GemmPath[] {GemmPath.VECTOR, GemmPath.BLAS, GemmPath.AUTO}) {
                    Gemm.linear(x, w, null, out, path);
                    assertClose(reference(x, w, null), out);
                }
            }
        }
    }

    @Test
    void bothImplementationsAgreeOnADecodeAndAPrefillShape() {
        SplittableRandom random = new SplittableRandom(6);
        for (int m : new int[] {1, 40}) {
            try (Tensor x = random(random, DType.F32, m, 300);
                 Tensor w = random(random, DType.BF16, 70, 300);
                 Tensor a = Tensor.allocate(DType.F32, m, 70);
                 Tensor b = Tensor.allocate(DType.F32, m, 70)) {
                Gemm.linear(x, w, null, a, GemmPath.VECTOR);
                Gemm.linear(x, w, null, b, GemmPath.BLAS);
                assertClose(a.toFloatArray(), b);
            }
        }
    }

    @Test
    void rejectsMismatchedInnerDimensions() {
        assertLinearRejects(DType.F32, new int[] {2, 5}, new int[] {3, 4}, new int[] {2, 3});
    }

    @Test
    void rejectsAnOutputOfTheWrongShape() {
        assertLinearRejects(DType.F32, new int[] {2, 4}, new int[] {3, 4}, new int[] {2, 4});
    }

    @Test
    void rejectsIntegerWeights() {
        assertLinearRejects(DType.I32, new int[] {2, 4}, new int[] {3, 4}, new int[] {2, 3});
    }

    @Test
    void autoDispatchStreamsWeightsForDecodeShapes() {
        assertEquals(GemmPath.VECTOR, Gemm.choose(1, 4096, 4096, DType.BF16));
        if (Gemm.blasAvailable()) {
            assertEquals(GemmPath.BLAS, Gemm.choose(576, 4096, 1024, DType.BF16));
        }
    }

    // ---------------------------------------------------------------- helpers

    /** {@code linear} of an F32 x, weights of {@code wt} and an F32 output of these shapes, no bias, throws. */
    private static void assertLinearRejects(DType wt, int[] xShape, int[] wShape, int[] outShape) {
        try (Tensor x = Tensor.allocate(DType.F32, xShape);
             Tensor w = Tensor.allocate(wt, wShape);
             Tensor out = Tensor.allocate(DType.F32, outShape)) {
            assertThrows(TensorException.class, () -> Gemm.linear(x, w, null, out));
        }
    }

    static Tensor random(SplittableRandom random, DType dtype, int... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        t.copyFrom(floats(random, (int) t.numel()));
        return t;
    }

    static float[] floats(SplittableRandom random, int count) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (random.nextDouble() * 2 - 1);
        }
        return v;
    }

    /** Reference in double: values and their error scale sum |x w| + |bias|, interleaved. */
    private static double[] reference(Tensor x, Tensor w, Tensor bias) {
        int k = w.dim(1);
        int n = w.dim(0);
        float[] xv = x.toFloatArray();
        float[] wv = w.toFloatArray();
        float[] bv = bias == null ? new float[n] : bias.toFloatArray();
        int m = xv.length / k;
        double[] ref = new double[2 * m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = bv[j];
                double scale = Math.abs(bv[j]);
                for (int e = 0; e < k; e++) {
                    double p = (double) xv[i * k + e] * wv[j * k + e];
                    s += p;
                    scale += Math.abs(p);
                }
                ref[2 * (i * n + j)] = s;
                ref[2 * (i * n + j) + 1] = scale;
            }
        }
        return ref;
    }

    private static void assertClose(double[] reference, Tensor out) {
        float[] got = out.toFloatArray();
        assertEquals(reference.length / 2, got.length, "element count");
        for (int i = 0; i < got.length; i++) {
            double tol = 1e-4 * reference[2 * i + 1] + 1e-6;
            double err = Math.abs(got[i] - reference[2 * i]);
            assertTrue(err <= tol, "element " + i + ": got " + got[i] + ", expected " + reference[2 * i]
                    + " (tolerance " + tol + ")");
        }
    }

    private static void assertClose(float[] expected, Tensor out) {
        float[] got = out.toFloatArray();
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])), "element " + i);
        }
    }
}
