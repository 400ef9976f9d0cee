package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The timed persistent decode kernels ({@code decode_persistent_timed.cu},
 * {@value CudaPersistentDecode#TIMERS_PROPERTY}{@code =true}) against the untimed ones: over the
 * same random layers and caches both write the same hidden state and cache rows bit for bit (the
 * timers add stores, no arithmetic), and every block's records run forward (release >= arrival >=
 * previous release at every barrier).
 */
class CudaPersistentDecodeTimersTest {

    private static final float EPS = 1e-6f;
    private static final int LAYERS = 3;
    private static final int CAPACITY = 512;

    @ParameterizedTest(name = "hidden={0} inter={1} heads={2}/{3} D={4} {5} cache={6} keys={7}")
    @CsvSource({
            "896, 4864, 14, 2, 64, BF16, F32, 65", "896, 4864, 14, 2, 64, BF16, BF16, 300",
            "896, 4864, 14, 2, 64, F16, F16, 129", "512, 1024, 4, 4, 128, BF16, F32, 200"})
    void timedKernelWritesTheUntimedBitsAndForwardRunningRecords(int hidden, int inter, int heads, int kvHeads, int dim,
                                                                 DType wType, DType cacheType, int keys) {
        CudaBackend gpu = cuda();
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor x0 = own(owned, gpu.upload(random(1, 1f, DType.F32, 1, hidden)));
            Tensor cos = own(owned, gpu.upload(random(2, 1f, DType.F32, 1, dim / 2)));
            Tensor sin = own(owned, gpu.upload(random(3, 1f, DType.F32, 1, dim / 2)));
            Tensor counts = own(owned, gpu.upload(Tensor.ofInts(new int[] {keys - 1, keys}, 2)));
            List<CudaPersistentDecode.Layer> untimedLayers = layers(gpu, owned, hidden, inter, heads, kvHeads, dim, wType,
                    cacheType, counts);
            List<CudaPersistentDecode.Layer> timedLayers = layers(gpu, owned, hidden, inter, heads, kvHeads, dim, wType,
                    cacheType, counts);
            CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(heads, kvHeads, dim, EPS, Activation.SILU);
            String label = hidden + "/" + heads + "/" + kvHeads + " D" + dim + " " + wType + " cache " + cacheType + " keys " + keys;

            Tensor untimedX = own(owned, gpu.allocate(DType.F32, 1, hidden));
            gpu.copy(x0, untimedX);
            try (CudaPersistentDecode kernel = withTimers(false, () -> gpu.persistentDecode(shape, untimedLayers, untimedX, cos, sin))) {
                assertNotNull(kernel, "the persistent kernel takes this shape");
                assertFalse(kernel.timed());
                kernel.enqueue();
                assertFalse(kernel.aborted(), "the untimed launch passed every grid barrier");
            }
            Tensor timedX = own(owned, gpu.allocate(DType.F32, 1, hidden));
            gpu.copy(x0, timedX);
            try (CudaPersistentDecode kernel = withTimers(true, () -> gpu.persistentDecode(shape, timedLayers, timedX, cos, sin))) {
                assertNotNull(kernel, "the timed persistent kernel takes this shape");
                assertTrue(kernel.timed());
                kernel.enqueue();
                assertFalse(kernel.aborted(), "the timed launch passed every grid barrier");
                PersistentPhaseTimes times = kernel.phaseTimes();
                assertEquals(kernel.grid(), times.blocks());
                assertEquals(LAYERS, times.layers());
                assertNull(times.firstDisorder(), label + ": every block's records run forward");
                assertTrue(times.spanUs() > 0, label + ": the launch took time");
            }
            assertBitsEqual(label + " hidden", untimedX, timedX);
            for (int l = 0; l < LAYERS; l++) {
                assertBitsEqual(label + " layer " + l + " keys", untimedLayers.get(l).keyCache(), timedLayers.get(l).keyCache());
                assertBitsEqual(label + " layer " + l + " values", untimedLayers.get(l).valueCache(),
                        timedLayers.get(l).valueCache());
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    @Test
    void untimedKernelRecordsNoPhaseTimes() {
        CudaBackend gpu = cuda();
        List<Tensor> owned = new ArrayList<>();
        try {
            Tensor x = own(owned, gpu.upload(random(1, 1f, DType.F32, 1, 512)));
            Tensor cos = own(owned, gpu.upload(random(2, 1f, DType.F32, 1, 64)));
            Tensor sin = own(owned, gpu.upload(random(3, 1f, DType.F32, 1, 64)));
            Tensor counts = own(owned, gpu.upload(Tensor.ofInts(new int[] {9, 10}, 2)));
            List<CudaPersistentDecode.Layer> layers = layers(gpu, owned, 512, 1024, 4, 4, 128, DType.BF16, DType.F32, counts);
            CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(4, 4, 128, EPS, Activation.SILU);
            try (CudaPersistentDecode kernel = withTimers(false, () -> gpu.persistentDecode(shape, layers, x, cos, sin))) {
                assertThrows(IllegalStateException.class, kernel::phaseTimes);
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /** Makes the kernel with {@value CudaPersistentDecode#TIMERS_PROPERTY} set to {@code on}, then restores it. */
    private static CudaPersistentDecode withTimers(boolean on, Supplier<CudaPersistentDecode> make) {
        String before = System.getProperty(CudaPersistentDecode.TIMERS_PROPERTY);
        System.setProperty(CudaPersistentDecode.TIMERS_PROPERTY, Boolean.toString(on));
        try {
            return make.get();
        } finally {
            if (before == null) {
                System.clearProperty(CudaPersistentDecode.TIMERS_PROPERTY);
            } else {
                System.setProperty(CudaPersistentDecode.TIMERS_PROPERTY, before);
            }
        }
    }

    /** LAYERS random layers (seeded, so two calls give equal weights and caches in distinct tensors). */
    private static List<CudaPersistentDecode.Layer> layers(CudaBackend gpu, List<Tensor> owned, int hidden, int inter,
                                                           int heads, int kvHeads, int dim, DType wType, DType cacheType,
                                                           Tensor counts) {
        int qn = heads * dim;
        int kvn = kvHeads * dim;
        List<CudaPersistentDecode.Layer> layers = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            long s = 100L * l;
            layers.add(new CudaPersistentDecode.Layer(
                    upload(gpu, owned, random(s + 1, 0.2f, wType, hidden)),
                    upload(gpu, owned, random(s + 2, 0.03f, wType, qn, hidden)),
                    upload(gpu, owned, random(s + 3, 0.1f, wType, qn)),
                    upload(gpu, owned, random(s + 4, 0.03f, wType, kvn, hidden)),
                    upload(gpu, owned, random(s + 5, 0.1f, wType, kvn)),
                    upload(gpu, owned, random(s + 6, 0.03f, wType, kvn, hidden)),
                    upload(gpu, owned, random(s + 7, 0.1f, wType, kvn)),
                    upload(gpu, owned, random(s + 8, 0.03f, wType, hidden, qn)),
                    upload(gpu, owned, random(s + 9, 0.1f, wType, hidden)),
                    upload(gpu, owned, random(s + 10, 0.2f, wType, hidden)),
                    upload(gpu, owned, random(s + 11, 0.03f, wType, inter, hidden)), null,
                    upload(gpu, owned, random(s + 12, 0.03f, wType, inter, hidden)), null,
                    upload(gpu, owned, random(s + 13, 0.03f, wType, hidden, inter)), null,
                    upload(gpu, owned, random(s + 14, 1f, cacheType, kvHeads, CAPACITY, dim)),
                    upload(gpu, owned, random(s + 15, 1f, cacheType, kvHeads, CAPACITY, dim)),
                    counts.slice(0, 0, 1), counts.slice(0, 1, 2)));
        }
        return layers;
    }

    /** The host tensor uploaded (the device copy owned by the test, the host one closed). */
    private static Tensor upload(CudaBackend gpu, List<Tensor> owned, Tensor host) {
        try (host) {
            return own(owned, gpu.upload(host));
        }
    }

    private static Tensor own(List<Tensor> owned, Tensor t) {
        owned.add(t);
        return t;
    }
}
