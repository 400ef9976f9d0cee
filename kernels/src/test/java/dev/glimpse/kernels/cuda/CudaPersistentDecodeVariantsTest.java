package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.host;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The persistent decode kernel's variants against the kernel of {@code decode_persistent.cu}
 * ({@value CudaPersistentDecode#PROPERTY}{@code =true}, untimed) over the same random layers and
 * caches: the timed kernels ({@value CudaPersistentDecode#TIMERS_PROPERTY}{@code =true}: stores of
 * barrier times, no arithmetic) and the wide ones ({@code =wide}: the same row sums over four times the
 * row groups) write the same hidden state and cache rows bit for bit, also at 6,300 keys (99 chunks per
 * kv head merged by one block per query head), and a timed launch's records run forward for every
 * block (release >= arrival >= previous release at every barrier).
 */
class CudaPersistentDecodeVariantsTest {

    private static final float EPS = 1e-6f;
    private static final int LAYERS = 3;

    /** One step's outputs: the hidden state, every layer's key and value cache, and a timed launch's records. */
    private record Step(float[] hidden, List<float[]> caches, PersistentPhaseTimes times) {
    }

    @ParameterizedTest(name = "hidden={0} inter={1} heads={2}/{3} D={4} {5} cache={6} keys={7} capacity={8}")
    @CsvSource({
            "896, 4864, 14, 2, 64, BF16, F32, 65, 512", "896, 4864, 14, 2, 64, BF16, BF16, 300, 512",
            "896, 4864, 14, 2, 64, F16, F16, 129, 512", "512, 1024, 4, 4, 128, BF16, F32, 200, 512",
            "896, 4864, 14, 2, 64, BF16, BF16, 6300, 8192"})
    void timedKernelWritesTheUntimedBitsAndForwardRunningRecords(int hidden, int inter, int heads, int kvHeads, int dim,
                                                                 DType wType, DType cacheType, int keys, int capacity) {
        Config c = new Config(hidden, inter, heads, kvHeads, dim, wType, cacheType, keys, capacity);
        Step expected = step(c, "true", false);
        Step timed = step(c, "true", true);
        assertSameBits(c + " timed", expected, timed);
        assertNull(timed.times().firstDisorder(), c + ": every block's records run forward");
        assertTrue(timed.times().spanUs() > 0, c + ": the launch took time");
    }

    @ParameterizedTest(name = "hidden={0} inter={1} heads={2}/{3} D={4} {5} cache={6} keys={7} capacity={8}")
    @CsvSource({
            "896, 4864, 14, 2, 64, BF16, F32, 65, 512", "896, 4864, 14, 2, 64, BF16, BF16, 300, 512",
            "896, 4864, 14, 2, 64, F16, F16, 129, 512", "512, 1024, 4, 4, 128, BF16, F32, 200, 512",
            "896, 4864, 14, 2, 64, BF16, BF16, 6300, 8192"})
    void wideKernelWritesTheCurrentKernelsBits(int hidden, int inter, int heads, int kvHeads, int dim, DType wType,
                                               DType cacheType, int keys, int capacity) {
        Config c = new Config(hidden, inter, heads, kvHeads, dim, wType, cacheType, keys, capacity);
        Step expected = step(c, "true", false);
        assertSameBits(c + " wide", expected, step(c, "wide", false));
        Step wideTimed = step(c, "wide", true);
        assertSameBits(c + " wide timed", expected, wideTimed);
        assertNull(wideTimed.times().firstDisorder(), c + " wide: every block's records run forward");
    }

    @Test
    void untimedKernelRecordsNoPhaseTimes() {
        Config c = new Config(512, 1024, 4, 4, 128, DType.BF16, DType.F32, 10, 512);
        List<Tensor> owned = new ArrayList<>();
        try {
            Inputs in = inputs(c, owned);
            try (CudaPersistentDecode kernel = make(c, in, "true", false)) {
                assertFalse(kernel.timed());
                assertThrows(IllegalStateException.class, kernel::phaseTimes);
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    private record Config(int hidden, int inter, int heads, int kvHeads, int dim, DType wType, DType cacheType, int keys,
                          int capacity) {
        @Override
        public String toString() {
            return hidden + "/" + heads + "/" + kvHeads + " D" + dim + " " + wType + " cache " + cacheType + " keys " + keys;
        }
    }

    /** A step's device inputs: hidden state, rotary rows and layers (with their own caches). */
    private record Inputs(Tensor x, Tensor cos, Tensor sin, List<CudaPersistentDecode.Layer> layers) {
    }

    /** One launch of the kernel {@code variant} ({@value CudaPersistentDecode#PROPERTY}), timed or not, over fresh inputs. */
    private static Step step(Config c, String variant, boolean timed) {
        List<Tensor> owned = new ArrayList<>();
        try {
            Inputs in = inputs(c, owned);
            try (CudaPersistentDecode kernel = make(c, in, variant, timed)) {
                assertEquals(timed, kernel.timed());
                kernel.enqueue();
                assertFalse(kernel.aborted(), c + " " + variant + (timed ? " timed" : "") + ": passed every grid barrier");
                PersistentPhaseTimes times = timed ? kernel.phaseTimes() : null;
                if (timed) {
                    assertEquals(kernel.grid(), times.blocks());
                    assertEquals(LAYERS, times.layers());
                }
                List<float[]> caches = new ArrayList<>();
                for (CudaPersistentDecode.Layer l : in.layers()) {
                    caches.add(host(l.keyCache()));
                    caches.add(host(l.valueCache()));
                }
                return new Step(host(in.x()), caches, times);
            }
        } finally {
            owned.forEach(Tensor::close);
        }
    }

    /** The kernel made with the two properties set, then restored. */
    private static CudaPersistentDecode make(Config c, Inputs in, String variant, boolean timed) {
        String before = System.getProperty(CudaPersistentDecode.PROPERTY);
        String timersBefore = System.getProperty(CudaPersistentDecode.TIMERS_PROPERTY);
        System.setProperty(CudaPersistentDecode.PROPERTY, variant);
        System.setProperty(CudaPersistentDecode.TIMERS_PROPERTY, Boolean.toString(timed));
        try {
            CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(c.heads(), c.kvHeads(), c.dim(), EPS,
                    Activation.SILU);
            CudaPersistentDecode kernel = cuda().persistentDecode(shape, in.layers(), in.x(), in.cos(), in.sin());
            assertNotNull(kernel, c + ": the persistent kernel takes this shape");
            return kernel;
        } finally {
            CudaTestSupport.restore(CudaPersistentDecode.PROPERTY, before);
            CudaTestSupport.restore(CudaPersistentDecode.TIMERS_PROPERTY, timersBefore);
        }
    }

    private static void assertSameBits(String label, Step expected, Step actual) {
        assertArrayEquals(expected.hidden(), actual.hidden(), label + ": hidden state");
        for (int i = 0; i < expected.caches().size(); i++) {
            assertArrayEquals(expected.caches().get(i), actual.caches().get(i),
                    label + ": layer " + i / 2 + (i % 2 == 0 ? " keys" : " values"));
        }
    }

    /** Seeded random inputs: every call gives equal values in fresh device tensors. */
    private static Inputs inputs(Config c, List<Tensor> owned) {
        CudaBackend gpu = cuda();
        Tensor x = upload(gpu, owned, random(1, 1f, DType.F32, 1, c.hidden()));
        Tensor cos = upload(gpu, owned, random(2, 1f, DType.F32, 1, c.dim() / 2));
        Tensor sin = upload(gpu, owned, random(3, 1f, DType.F32, 1, c.dim() / 2));
        Tensor counts = upload(gpu, owned, Tensor.ofInts(new int[] {c.keys() - 1, c.keys()}, 2));
        int qn = c.heads() * c.dim();
        int kvn = c.kvHeads() * c.dim();
        DType w = c.wType();
        List<CudaPersistentDecode.Layer> layers = new ArrayList<>();
        for (int l = 0; l < LAYERS; l++) {
            long s = 100L * l;
            layers.add(new CudaPersistentDecode.Layer(
                    upload(gpu, owned, random(s + 1, 0.2f, w, c.hidden())),
                    upload(gpu, owned, random(s + 2, 0.03f, w, qn, c.hidden())),
                    upload(gpu, owned, random(s + 3, 0.1f, w, qn)),
                    upload(gpu, owned, random(s + 4, 0.03f, w, kvn, c.hidden())),
                    upload(gpu, owned, random(s + 5, 0.1f, w, kvn)),
                    upload(gpu, owned, random(s + 6, 0.03f, w, kvn, c.hidden())),
                    upload(gpu, owned, random(s + 7, 0.1f, w, kvn)),
                    upload(gpu, owned, random(s + 8, 0.03f, w, c.hidden(), qn)),
                    upload(gpu, owned, random(s + 9, 0.1f, w, c.hidden())),
                    upload(gpu, owned, random(s + 10, 0.2f, w, c.hidden())),
                    upload(gpu, owned, random(s + 11, 0.03f, w, c.inter(), c.hidden())), null,
                    upload(gpu, owned, random(s + 12, 0.03f, w, c.inter(), c.hidden())), null,
                    upload(gpu, owned, random(s + 13, 0.03f, w, c.hidden(), c.inter())), null,
                    upload(gpu, owned, random(s + 14, 1f, c.cacheType(), c.kvHeads(), c.capacity(), c.dim())),
                    upload(gpu, owned, random(s + 15, 1f, c.cacheType(), c.kvHeads(), c.capacity(), c.dim())),
                    counts.slice(0, 0, 1), counts.slice(0, 1, 2)));
        }
        return new Inputs(x, cos, sin, layers);
    }

    /** The host tensor uploaded (the device copy owned by the test, the host one closed). */
    private static Tensor upload(CudaBackend gpu, List<Tensor> owned, Tensor host) {
        try (host) {
            Tensor device = gpu.upload(host);
            owned.add(device);
            return device;
        }
    }
}
