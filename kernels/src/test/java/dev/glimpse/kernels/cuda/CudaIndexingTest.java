package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CudaIndexingTest {

    @Test
    void uploadDownloadRoundTripsEveryDtype() {
        CudaBackend gpu = cuda();
        for (DType dtype : new DType[] {DType.F32, DType.F16, DType.BF16}) {
            try (Tensor host = random(1, 1f, dtype, 3, 33); Tensor dev = gpu.upload(host); Tensor back = gpu.download(dev)) {
                assertArrayEquals(host.toFloatArray(), back.toFloatArray(), 0f, dtype + " round trip");
            }
        }
        int[] ints = {7, -3, 1 << 30, 0, 42};
        try (Tensor host = Tensor.ofInts(ints, 5); Tensor dev = gpu.upload(host); Tensor back = gpu.download(dev)) {
            assertArrayEquals(ints, back.toIntArray());
        }
    }

    /**
     * Uploads queued while the stream is still busy take the host values of their call: the host
     * buffer is overwritten (and an index array dropped) right after each upload, before the device
     * has reached the copy. Holds whether uploads wait for the device or rely on cudaMemcpyAsync
     * staging pageable memory before it returns.
     */
    @Test
    void uploadsBehindRunningKernelsTakeTheValuesOfTheirCall() {
        CudaBackend gpu = cuda();
        int n = 2048;
        try (Tensor x = random(31, n, n); Tensor gx = gpu.upload(x); Tensor busy = gpu.allocate(DType.F32, n, n);
             Tensor host = Tensor.allocate(DType.F32, 4, 256); Tensor table = random(32, 64, 8);
             Tensor gtable = gpu.upload(table)) {
            float[][] values = new float[3][];
            Tensor[] uploaded = new Tensor[3];
            Tensor[] gathered = new Tensor[3];
            int[][] rows = {{5, 1, 63}, {0, 0, 7}, {40, 2, 9}};
            try {
                for (int i = 0; i < 3; i++) {
                    for (int r = 0; r < 4; r++) {
                        gpu.linear(gx, gx, null, busy); // a few ms of F32 GEMM ahead of the copies
                    }
                    values[i] = new float[4 * 256];
                    Arrays.fill(values[i], i + 0.5f);
                    host.copyFrom(values[i]);
                    uploaded[i] = gpu.upload(host);
                    gathered[i] = gpu.allocate(DType.F32, 3, 8);
                    gpu.gatherRows(gtable, rows[i].clone(), gathered[i]);
                }
                host.copyFrom(new float[4 * 256]);
                for (int i = 0; i < 3; i++) {
                    try (Tensor back = gpu.download(uploaded[i]); Tensor expected = Tensor.allocate(DType.F32, 3, 8)) {
                        assertArrayEquals(values[i], back.toFloatArray(), 0f, "upload " + i);
                        CPU.gatherRows(table, rows[i], expected);
                        assertClose("gatherRows behind busy kernels " + i, expected, gathered[i], 0);
                    }
                }
            } finally {
                for (int i = 0; i < 3; i++) {
                    if (uploaded[i] != null) {
                        uploaded[i].close();
                    }
                    if (gathered[i] != null) {
                        gathered[i].close();
                    }
                }
            }
        }
    }

    @Test
    void copyConvertsDtypesAndStridesLikeCpu() {
        CudaBackend gpu = cuda();
        try (Tensor x = random(2, 20, 30); Tensor expected = Tensor.allocate(DType.BF16, 30, 20);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.BF16, 30, 20)) {
            CPU.copy(x.transpose(0, 1), expected);
            gpu.copy(gx.transpose(0, 1), out);
            assertClose("copy F32 transposed -> BF16", expected, out, 0);
        }
        try (Tensor x = random(3, 8, 8); Tensor out = gpu.allocate(DType.F32, 8, 8); Tensor back = Tensor.allocate(DType.F32, 8, 8)) {
            gpu.copy(x, out);
            gpu.copy(out, back);
            assertArrayEquals(x.toFloatArray(), back.toFloatArray(), 0f, "host -> device -> host copy");
        }
    }

    /**
     * Copies that take {@code strided_copy_vec4} (last dim packed, extent and other strides multiples
     * of 4, aligned bases) between every pair of float dtypes: a KV-cache append (tokens-major
     * [n, H, D] into a head-major cache slice), the images-as-heads transpose of the vision tower
     * ([B, T, C] to [T, B, C]) and a row gather; all bit-identical to the CPU's copy.
     */
    @Test
    void fourWideCopiesMatchCpuForEveryFloatDtypePair() {
        CudaBackend gpu = cuda();
        DType[] floats = {DType.F32, DType.F16, DType.BF16};
        for (DType from : floats) {
            for (DType to : floats) {
                String pair = from + " -> " + to;
                try (Tensor k = random(11, 1f, from, 5, 3, 128); Tensor cache = Tensor.allocate(to, 3, 16, 128);
                     Tensor gk = gpu.upload(k); Tensor gcache = gpu.allocate(to, 3, 16, 128)) {
                    Tensor slot = cache.slice(1, 7, 12).transpose(0, 1);
                    Tensor gslot = gcache.slice(1, 7, 12).transpose(0, 1);
                    assertTrue(CudaCopy.fourWide(gk) && CudaCopy.fourWide(gslot), "the KV append copy is 4-wide");
                    CPU.copy(k, slot);
                    gpu.copy(gk, gslot);
                    assertClose("4-wide KV append " + pair, cache, gcache, 0);
                }
                try (Tensor x = random(12, 1f, from, 3, 10, 36); Tensor expected = Tensor.allocate(to, 10, 3, 36);
                     Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(to, 10, 3, 36)) {
                    CPU.copy(x.transpose(0, 1), expected);
                    gpu.copy(gx.transpose(0, 1), out);
                    assertClose("4-wide images-as-heads transpose " + pair, expected, out, 0);
                }
            }
        }
        int[] rows = {4, 0, 9, 9, 2};
        try (Tensor x = random(13, 1f, DType.BF16, 10, 3, 8); Tensor expected = Tensor.allocate(DType.F32, rows.length, 3, 8);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, rows.length, 3, 8)) {
            CPU.gatherRows(x, rows, expected);
            gpu.gatherRows(gx, rows, out);
            assertClose("4-wide gatherRows BF16 -> F32", expected, out, 0);
        }
    }

    /** Views the 4-wide copy must refuse (odd extents, strides or offsets) still copy exactly, by the general kernel. */
    @Test
    void copiesThatAreNotFourWideFallBack() {
        CudaBackend gpu = cuda();
        try (Tensor x = random(14, 6, 4, 12); Tensor gx = gpu.upload(x); Tensor y = random(15, 6, 10); Tensor gy = gpu.upload(y)) {
            Tensor[][] cases = {
                    {x.slice(2, 1, 9), gx.slice(2, 1, 9)},   // base one element past alignment
                    {x.slice(2, 0, 6), gx.slice(2, 0, 6)},   // extent 6 is not a multiple of 4
                    {y.slice(1, 0, 8), gy.slice(1, 0, 8)}};  // row stride 10 is not a multiple of 4
            for (Tensor[] c : cases) {
                assertFalse(CudaCopy.fourWide(c[1]), "not 4-wide: " + c[1]);
                try (Tensor expected = Tensor.allocate(DType.F32, c[0].shape()); Tensor out = gpu.allocate(DType.F32, c[1].shape())) {
                    CPU.copy(c[0], expected);
                    gpu.copy(c[1], out);
                    assertClose("fallback copy of " + c[1], expected, out, 0);
                }
            }
        }
    }

    @Test
    void allocateGivesZeros() {
        CudaBackend gpu = cuda();
        try (Tensor t = gpu.allocate(DType.F32, 1000); Tensor host = gpu.download(t)) {
            assertArrayEquals(new float[1000], host.toFloatArray(), 0f);
        }
    }

    @Test
    void embeddingGathersBf16RowsAsF32() {
        CudaBackend gpu = cuda();
        int[] ids = {5, 0, 99, 5, 42};
        try (Tensor table = random(4, 1f, DType.BF16, 100, 72); Tensor expected = Tensor.allocate(DType.F32, ids.length, 72);
             Tensor gt = gpu.upload(table); Tensor out = gpu.allocate(DType.F32, ids.length, 72)) {
            CPU.embedding(table, ids, expected);
            gpu.embedding(gt, ids, out);
            assertClose("embedding bf16 table", expected, out, 0);
        }
    }

    @Test
    void gatherRowsSelectsRowsOfAStridedView() {
        CudaBackend gpu = cuda();
        int[] rows = {3, 0, 11, 11, 7};
        try (Tensor x = random(5, 12, 4, 9); Tensor expected = Tensor.allocate(DType.F32, rows.length, 4, 5);
             Tensor gx = gpu.upload(x); Tensor out = gpu.allocate(DType.F32, rows.length, 4, 5)) {
            CPU.gatherRows(x.slice(2, 2, 7), rows, expected);
            gpu.gatherRows(gx.slice(2, 2, 7), rows, out);
            assertClose("gatherRows strided", expected, out, 0);
        }
    }

    @Test
    void concatJoinsPartsAlongAnInnerAxis() {
        CudaBackend gpu = cuda();
        try (Tensor a = random(6, 3, 2, 5); Tensor b = random(7, 3, 7, 5); Tensor expected = Tensor.allocate(DType.F32, 3, 9, 5);
             Tensor ga = gpu.upload(a); Tensor gb = gpu.upload(b); Tensor out = gpu.allocate(DType.F32, 3, 9, 5)) {
            CPU.concat(1, List.of(a, b), expected);
            gpu.concat(1, List.of(ga, gb), out);
            assertClose("concat axis 1", expected, out, 0);
        }
    }

    @Test
    void argmaxTakesTheFirstMaximumAndNaNFirst() {
        CudaBackend gpu = cuda();
        float[] values = new float[4 * 3000];
        java.util.SplittableRandom r = new java.util.SplittableRandom(8);
        for (int i = 0; i < values.length; i++) {
            values[i] = r.nextInt(50);
        }
        values[3000 + 17] = Float.NaN;
        values[3000 + 2000] = Float.NaN;
        try (Tensor x = Tensor.of(values, 4, 3000); Tensor gx = gpu.upload(x)) {
            assertArrayEquals(CPU.argmax(x), gpu.argmax(gx));
        }
    }
}
