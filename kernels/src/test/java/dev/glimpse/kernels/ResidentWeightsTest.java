package dev.glimpse.kernels;

import dev.glimpse.kernels.cpu.CpuBackend;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.Proxy;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * Weights placed once: separate uploads and concatenations whose parts become views. Runs on the
 * CPU with a backend that claims a device and keeps its "device" tensors in native host memory.
 */
class ResidentWeightsTest {

    private static final Device FAKE = Device.cuda(0);

    @Test
    void aHostBackendNeverConcatenates() {
        try (CpuBackend cpu = new CpuBackend(); ResidentWeights store = new ResidentWeights(cpu);
             Tensor a = ramp(DType.BF16, 0, 4, 8); Tensor b = ramp(DType.BF16, 100, 2, 8)) {
            assertNull(store.placeConcatenated(List.of(a, b)));
            assertSame(a, store.place(a));
        }
    }

    @Test
    void partsPlacedAfterTheConcatenationAreItsRows() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor q = ramp(DType.BF16, 0, 4, 8); Tensor k = ramp(DType.BF16, 100, 2, 8);
             Tensor v = ramp(DType.BF16, 200, 2, 8)) {
            Tensor whole = store.placeConcatenated(List.of(q, k, v));
            assertNotNull(whole);
            assertArrayEquals(new int[] {8, 8}, whole.shape());
            assertEquals(FAKE, whole.device());
            Tensor placedK = store.place(k);
            assertEquals(address(whole) + 4L * 8 * 2, address(placedK), "k starts after q's 4 rows");
            assertEquals(address(whole) + 6L * 8 * 2, address(store.place(v)), "v starts after k's 2 rows");
            assertEquals(address(whole), address(store.place(q)));
            assertArrayEquals(k.toFloatArray(), hostView(placedK).toFloatArray(), "k's values in the concatenation");
            assertArrayEquals(v.toFloatArray(), hostView(whole.slice(0, 6, 8)).toFloatArray());
            assertEquals(8L * 8 * 2, store.uploadedBytes(), "each part uploaded once, inside the concatenation");
        }
    }

    @Test
    void aPartAlreadyResidentOnItsOwnIsNotUploadedAgain() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor gate = ramp(DType.BF16, 0, 4, 8); Tensor up = ramp(DType.BF16, 50, 4, 8)) {
            store.place(up);
            assertNull(store.placeConcatenated(List.of(gate, up)));
            assertEquals(4L * 8 * 2, store.uploadedBytes());
        }
    }

    @Test
    void partsOfDifferentDtypesOrWidthsDoNotConcatenate() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor a = ramp(DType.BF16, 0, 4, 8); Tensor b = ramp(DType.F16, 0, 4, 8);
             Tensor c = ramp(DType.BF16, 0, 4, 16)) {
            assertNull(store.placeConcatenated(List.of(a, b)));
            assertNull(store.placeConcatenated(List.of(a, c)));
            assertEquals(0, store.uploadedBytes());
        }
    }

    @Test
    void biasesConcatenateAsVectors() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor qb = ramp(DType.BF16, 0, 4); Tensor kb = ramp(DType.BF16, 10, 2); Tensor vb = ramp(DType.BF16, 20, 2)) {
            Tensor whole = store.placeConcatenated(List.of(qb, kb, vb));
            assertArrayEquals(new int[] {8}, whole.shape());
            assertArrayEquals(new float[] {0, 1, 2, 3, 10, 11, 20, 21}, hostView(whole).toFloatArray());
            assertEquals(address(whole) + 6L * 2, address(store.place(vb)));
        }
    }

    @Test
    void biasesArePlacedOnceInF32WithTheirValues() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor bias = ramp(DType.BF16, 5, 6)) {
            Tensor placed = store.placeBias(bias);
            assertEquals(DType.F32, placed.dtype());
            assertEquals(FAKE, placed.device());
            assertArrayEquals(bias.toFloatArray(), hostView(placed).toFloatArray());
            assertSame(placed, store.placeBias(bias), "placed once");
            assertEquals(6L * 4, store.uploadedBytes(), "counted as the F32 bytes placed");
            assertEquals(DType.BF16, store.place(bias).dtype(), "placed as is, it is a separate copy");
            assertNull(store.placeBias(null));
        }
    }

    @Test
    void biasesPlacedAfterTheirF32ConcatenationAreItsSlices() {
        try (Arena arena = Arena.ofShared(); ResidentWeights store = new ResidentWeights(fakeDevice(arena));
             Tensor qb = ramp(DType.BF16, 0, 4); Tensor kb = ramp(DType.BF16, 10, 2); Tensor vb = ramp(DType.BF16, 20, 2)) {
            Tensor whole = store.placeConcatenatedBiases(List.of(qb, kb, vb));
            assertEquals(DType.F32, whole.dtype());
            assertArrayEquals(new float[] {0, 1, 2, 3, 10, 11, 20, 21}, hostView(whole).toFloatArray());
            assertEquals(address(whole) + 4L * 4, address(store.placeBias(kb)));
            assertEquals(address(whole) + 6L * 4, address(store.placeBias(vb)));
            assertEquals(8L * 4, store.uploadedBytes());
        }
    }

    @Test
    void aHostBackendKeepsBiasesAsTheyAre() {
        try (CpuBackend cpu = new CpuBackend(); ResidentWeights store = new ResidentWeights(cpu);
             Tensor bias = ramp(DType.BF16, 0, 4)) {
            assertSame(bias, store.placeBias(bias));
            assertNull(store.placeConcatenatedBiases(List.of(bias)));
        }
    }

    /** Values start, start + 1, ... (exact in BF16 for the small ranges used). */
    private static Tensor ramp(DType dtype, int start, int... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = start + i % 32;
        }
        t.copyFrom(v);
        return t;
    }

    private static long address(Tensor t) {
        return t.segment().address() + t.byteOffset();
    }

    /** A "device" tensor's bytes seen as a host tensor (contiguous views only). */
    private static Tensor hostView(Tensor device) {
        long bytes = device.numel() * device.dtype().byteSize();
        return Tensor.wrap(MemorySegment.ofAddress(address(device)).reinterpret(bytes), device.dtype(), device.shape());
    }

    /** A backend on {@link #FAKE} whose tensors are native host memory: allocate, upload and copy (converting dtypes). */
    private static Backend fakeDevice(Arena arena) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "device" -> FAKE;
                    case "allocate" -> allocate(arena, (DType) args[0], (int[]) args[1]);
                    case "upload" -> {
                        Tensor host = (Tensor) args[0];
                        Tensor dst = allocate(arena, host.dtype(), host.shape());
                        copyBytes(host, dst);
                        yield dst;
                    }
                    case "copy" -> {
                        Tensor src = (Tensor) args[0];
                        Tensor dst = (Tensor) args[1];
                        if (src.dtype() == dst.dtype()) {
                            copyBytes(src, dst);
                        } else {
                            hostView(dst).copyFrom(src.toFloatArray());
                        }
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }

    private static Tensor allocate(Arena arena, DType dtype, int[] shape) {
        MemorySegment segment = arena.allocate(Math.max(1, Tensor.byteSize(dtype, shape)), 256);
        return Tensor.wrap(segment, FAKE, dtype, shape);
    }

    private static void copyBytes(Tensor src, Tensor dst) {
        long bytes = src.numel() * src.dtype().byteSize();
        MemorySegment.copy(src.segment(), src.byteOffset(), MemorySegment.ofAddress(address(dst)).reinterpret(bytes), 0, bytes);
    }
}
