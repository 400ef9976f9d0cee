package dev.glimpse.kernels.cpu;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One reusable off-heap scratch buffer per thread, grown on demand and never shrunk; the GC
 * frees it with its thread. Used for weight panels converted to F32. A caller must finish with
 * the buffer before it asks for it again on the same thread.
 */
final class ThreadScratch {

    private static final ThreadLocal<MemorySegment> BUFFER = ThreadLocal.withInitial(() -> MemorySegment.NULL);

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
}
