package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;

import java.util.ArrayList;
import java.util.List;

/**
 * The F32 outputs of a captured tower pass laid out in one allocation, each starting on a 256-byte
 * boundary, so that a replay hands them out with one allocation and one copy instead of one of each
 * per output: a VTC-CLS pass has eight (the features and seven [CLS] row blocks). Used under
 * {@code -Dglimpse.cuda.vtcFused=true} ({@link CudaBackend#vtcFusedEnabled}); the views are the same
 * shapes the eager pass allocated, so callers cannot tell the difference.
 */
final class OutputBlock {

    /** 256 bytes of F32. */
    private static final long ALIGN = 64;

    private final List<int[]> shapes;
    private final long[] offsets;
    private final long floats;

    OutputBlock(List<int[]> shapes) {
        this.shapes = List.copyOf(shapes);
        this.offsets = new long[shapes.size()];
        long at = 0;
        for (int i = 0; i < shapes.size(); i++) {
            offsets[i] = at;
            at += (numel(shapes.get(i)) + ALIGN - 1) / ALIGN * ALIGN;
        }
        this.floats = Math.max(at, 1);
    }

    /** A fresh block (owned by the caller). */
    Tensor allocate(CudaBackend cuda) {
        return cuda.allocate(DType.F32, Math.toIntExact(floats));
    }

    /** The outputs as views of {@code block}, in the order of the shapes. */
    List<Tensor> views(Tensor block) {
        List<Tensor> views = new ArrayList<>(shapes.size());
        for (int i = 0; i < shapes.size(); i++) {
            int[] shape = shapes.get(i);
            views.add(block.slice(0, Math.toIntExact(offsets[i]), Math.toIntExact(offsets[i] + numel(shape))).reshape(shape));
        }
        return views;
    }

    /** Bytes of one block. */
    long bytes() {
        return floats * Float.BYTES;
    }

    private static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }
}
