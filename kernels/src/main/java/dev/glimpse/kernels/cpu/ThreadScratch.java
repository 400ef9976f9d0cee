package dev.glimpse.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One reusable off-heap scratch buffer and one float array per thread, grown on demand and never
 * shrunk; the GC frees them with their thread. Used for weight panels converted to F32 and for
 * the decode GEMV's copy of x. A caller must finish with a buffer before it asks for the same
 * kind again on the same thread.
 */
final class ThreadScratch {

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);
    private static final ThreadLocal<float[]> FLOATS = ThreadLocal.withInitial(() -> new float[0]);

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
        float[] current = FLOATS.get();
        if (current.length >= count) {
            return current;
        }
        float[] grown = new float[Math.max(count, 2 * current.length)];
        FLOATS.set(grown);
        return grown;
    }
}
