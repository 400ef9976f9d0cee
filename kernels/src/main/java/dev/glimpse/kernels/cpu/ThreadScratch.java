package dev.glimpse.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One reusable off-heap scratch buffer and two float arrays per thread, grown on demand and never
 * shrunk; the GC frees them with their thread. The off-heap buffer holds OpenBLAS's converted
 * weight panels; the arrays hold the Vector API GEMM's copy of x and its F32 weight panels. A caller must finish with a buffer before it asks for the same
 * kind again on the same thread.
 */
final class ThreadScratch {

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    private static final ThreadLocal<float[]> FLOATS = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> PANEL = ThreadLocal.withInitial(() -> new float[0]);

    private ThreadScratch() {
    }

    /** At least {@code bytes} bytes, 64-byte aligned, contents undefined. */
    static MemorySegment get(long bytes) {
        MemorySegment current = BUFFER.get();
        if (current.byteSize() >= bytes) {
            return current;
        }
        MemorySegment grown = Arena.ofAuto().allocate(Math.max(bytes, 2 * current.byteSize()), 64);
        BUFFER.set(grown);
        return grown;
    }

    /** At least {@code count} floats, contents undefined. */
    static float[] floats(int count) {
        return grow(FLOATS, count);
    }

    /** At least {@code count} floats for a weight panel, distinct from {@link #floats}, contents undefined. */
    static float[] panel(int count) {
        return grow(PANEL, count);
    }

    private static float[] grow(ThreadLocal<float[]> kind, int count) {
        float[] current = kind.get();
        if (current.length >= count) {
            return current;
        }
        float[] grown = new float[Math.max(count, 2 * current.length)];
        kind.set(grown);
        return grown;
    }
}
