package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The persistent decode kernel ({@link CudaPersistentDecode}) against the fused per-layer decode
 * ops it replaces ({@code rmsNormLinear} q/k/v, {@code ropeAppendKv}, {@code decodeAttention},
 * {@code linearAddResidual} o_proj, {@code rmsNormGatedMlpIn}, {@code linearAddResidual} down) over
 * two random layers with pre-filled caches: the hidden state after both layers and every layer's
 * appended key and value rows agree to F32 summation order ({@value #TOLERANCE} of the largest
 * value; 16-bit caches hold rounded rows, which may round one ulp apart, and the hidden state then gets
 * twice the bound), at key counts that fill
 * one 64-key chunk (fewer chunks than a kv head's query heads: one block merges several heads), cross
 * into a second, span several and span many (6,300 keys: 99 chunks per kv head, more chunks than query
 * heads, as in a long video prompt). A graph replay of the kernel (its barrier state left as the eager
 * launch left it) gives the eager launch's bits.
 */
class CudaPersistentDecodeTest {

    private static final float EPS = 1e-6f;
    private static final double TOLERANCE = 1e-3;
    /** One unit in the last place of a 16-bit cache entry in [1, 2), relative: a value rounded the other way. */
    private static final double BF16_ULP = 1.0 / 128;
    private static final double F16_ULP = 1.0 / 1024;
    private static final int LAYERS = 2;

    @ParameterizedTest(name = "hidden={0} inter={1} heads={2}/{3} D={4} {5} cache={6} keys={7} capacity={8}")
    @CsvSource({
            "896, 4864, 14, 2, 64, BF16, F32, 1, 512", "896, 4864, 14, 2, 64, BF16, F32, 64, 512",
            "896, 4864, 14, 2, 64, BF16, F32, 65, 512", "896, 4864, 14, 2, 64, BF16, BF16, 300, 512",
            "896, 4864, 14, 2, 64, F16, F16, 129, 512", "512, 1024, 4, 4, 128, BF16, F32, 200, 512",
            "512, 1024, 4, 4, 128, BF16, BF16, 64, 512", "896, 4864, 14, 2, 64, BF16, F32, 6300, 8192",
            "896, 4864, 14, 2, 64, BF16, BF16, 6301, 8192", "512, 1024, 4, 4, 128, BF16, BF16, 4000, 4096"})
    void persistentStepMatchesThePerLayerOps(int hidden, int inter, int heads, int kvHeads, int dim, DType wType,
                                             DType cacheType, int keys, int capacity) {
        CudaBackend gpu = cuda();
        List<Tensor> owned = new ArrayList<>();
        try {
            int qn = heads * dim;
            int kvn = kvHeads * dim;
            Tensor x0 = own(owned, gpu.upload(random(1, 1f, DType.F32, 1, hidden)));
            Tensor cos = own(owned, gpu.upload(random(2, 1f, DType.F32, 1, dim / 2)));
            Tensor sin = own(owned, gpu.upload(random(3, 1f, DType.F32, 1, dim / 2)));
            Tensor counts = own(owned, gpu.upload(Tensor.ofInts(new int[] {keys - 1, keys}, 2)));
            Tensor length = counts.slice(0, 0, 1);
            Tensor keyCount = counts.slice(0, 1, 2);
            List<CudaPersistentDecode.Layer> reference = new ArrayList<>();
            List<CudaPersistentDecode.Layer> persistent = new ArrayList<>();
            for (int l = 0; l < LAYERS; l++) {
                long s = 100L * l;
                Tensor inNorm = own(owned, gpu.upload(random(s + 1, 0.2f, wType, hidden)));
                Tensor wq = own(owned, gpu.upload(random(s + 2, 0.03f, wType, qn, hidden)));
                Tensor bq = own(owned, gpu.upload(random(s + 3, 0.1f, wType, qn)));
                Tensor wk = own(owned, gpu.upload(random(s + 4, 0.03f, wType, kvn, hidden)));
                Tensor bk = own(owned, gpu.upload(random(s + 5, 0.1f, wType, kvn)));
                Tensor wv = own(owned, gpu.upload(random(s + 6, 0.03f, wType, kvn, hidden)));
                Tensor bv = own(owned, gpu.upload(random(s + 7, 0.1f, wType, kvn)));
                Tensor wo = own(owned, gpu.upload(random(s + 8, 0.03f, wType, hidden, qn)));
                Tensor bo = own(owned, gpu.upload(random(s + 9, 0.1f, wType, hidden)));
                Tensor postNorm = own(owned, gpu.upload(random(s + 10, 0.2f, wType, hidden)));
                Tensor wg = own(owned, gpu.upload(random(s + 11, 0.03f, wType, inter, hidden)));
                Tensor wu = own(owned, gpu.upload(random(s + 12, 0.03f, wType, inter, hidden)));
                Tensor wd = own(owned, gpu.upload(random(s + 13, 0.03f, wType, hidden, inter)));
                Tensor keysHost = random(s + 14, 1f, cacheType, kvHeads, capacity, dim);
                Tensor valuesHost = random(s + 15, 1f, cacheType, kvHeads, capacity, dim);
                Tensor[] caches = {own(owned, gpu.upload(keysHost)), own(owned, gpu.upload(valuesHost)),
                        own(owned, gpu.upload(keysHost)), own(owned, gpu.upload(valuesHost))};
                keysHost.close();
                valuesHost.close();
                reference.add(new CudaPersistentDecode.Layer(inNorm, wq, bq, wk, bk, wv, bv, wo, bo, postNorm, wg, null, wu,
                        null, wd, null, caches[0], caches[1], length, keyCount));
                persistent.add(new CudaPersistentDecode.Layer(inNorm, wq, bq, wk, bk, wv, bv, wo, bo, postNorm, wg, null, wu,
                        null, wd, null, caches[2], caches[3], length, keyCount));
            }
            Tensor expected = own(owned, gpu.allocate(DType.F32, 1, hidden));
            gpu.copy(x0, expected);
            perLayerStep(gpu, reference, expected, cos, sin, heads, kvHeads, dim, inter);

            Tensor actual = own(owned, gpu.allocate(DType.F32, 1, hidden));
            gpu.copy(x0, actual);
            CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(heads, kvHeads, dim, EPS, Activation.SILU);
            try (CudaPersistentDecode kernel = gpu.persistentDecode(shape, persistent, actual, cos, sin)) {
                assertNotNull(kernel, "the persistent kernel takes this shape");
                kernel.enqueue();
                assertFalse(kernel.aborted(), "the launch passed every grid barrier");
                String label = hidden + "/" + heads + "/" + kvHeads + " D" + dim + " " + wType + " cache " + cacheType + " keys " + keys;
                double rowTolerance = cacheType == DType.F32 ? TOLERANCE : cacheType == DType.BF16 ? BF16_ULP : F16_ULP;
                try (Tensor want = gpu.download(expected)) {
                    assertClose(label + " hidden", want, actual, cacheType == DType.F32 ? TOLERANCE : 2 * TOLERANCE);
                }
                for (int l = 0; l < LAYERS; l++) {
                    assertRowsClose(gpu, label + " layer " + l + " keys", reference.get(l).keyCache(),
                            persistent.get(l).keyCache(), keys - 1, rowTolerance);
                    assertRowsClose(gpu, label + " layer " + l + " values", reference.get(l).valueCache(),
                            persistent.get(l).valueCache(), keys - 1, rowTolerance);
                }
                float[] eager = hostValues(gpu, actual);
                try (StepGraph graph = gpu.capture(() -> {
                    gpu.copy(x0, actual);
                    kernel.enqueue();
                })) {
                    gpu.launch(graph);
                    gpu.launch(graph);
                    gpu.synchronize();
                }
                assertArrayEquals(eager, hostValues(gpu, actual), label + ": graph replays give the eager launch's bits");
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /** The fused decode ops of one step over {@code layers}, as DecoderLayer#forwardStepFused runs them. */
    private static void perLayerStep(CudaBackend gpu, List<CudaPersistentDecode.Layer> layers, Tensor hidden, Tensor cos,
                                     Tensor sin, int heads, int kvHeads, int dim, int inter) {
        try (Tensor q = gpu.allocate(DType.F32, 1, heads * dim); Tensor k = gpu.allocate(DType.F32, 1, kvHeads * dim);
             Tensor v = gpu.allocate(DType.F32, 1, kvHeads * dim); Tensor attention = gpu.allocate(DType.F32, 1, heads, dim);
             Tensor residual = gpu.allocate(DType.F32, hidden.shape());
             Tensor activated = gpu.allocate(DType.F32, 1, inter)) {
            for (CudaPersistentDecode.Layer l : layers) {
                gpu.rmsNormLinear(hidden, l.inputNorm(), EPS, List.of(new LinearTarget(l.q(), l.qBias(), q),
                        new LinearTarget(l.k(), l.kBias(), k), new LinearTarget(l.v(), l.vBias(), v)));
                Tensor qh = q.reshape(1, heads, dim);
                gpu.ropeAppendKv(qh, k.reshape(1, kvHeads, dim), v.reshape(1, kvHeads, dim), cos, sin, l.keyCache(),
                        l.valueCache(), l.length());
                gpu.decodeAttention(qh, l.keyCache(), l.valueCache(), l.keyCount(), (float) Math.pow(dim, -0.5), attention);
                gpu.linearAddResidual(attention.reshape(1, heads * dim), l.o(), l.oBias(), hidden, residual);
                gpu.rmsNormGatedMlpIn(residual, l.postNorm(), EPS, l.gate(), null, l.up(), null, Activation.SILU, activated);
                gpu.linearAddResidual(activated, l.down(), null, residual, hidden);
            }
        }
    }

    /** The cache rows at {@code slot} of every kv head agree. */
    private static void assertRowsClose(CudaBackend gpu, String label, Tensor expected, Tensor actual, int slot, double tol) {
        try (Tensor want = gpu.download(expected); Tensor got = gpu.download(actual);
             Tensor wantRow = want.slice(1, slot, slot + 1).contiguous();
             Tensor gotRow = got.slice(1, slot, slot + 1).contiguous()) {
            assertClose(label, wantRow, gotRow, tol);
        }
    }

    private static float[] hostValues(CudaBackend gpu, Tensor device) {
        try (Tensor host = gpu.download(device)) {
            return host.toFloatArray();
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }
}
