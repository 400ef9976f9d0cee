package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Scratch tensors of one operation, closed together when it ends (their memory goes back to the
 * stream-ordered pool, so kernels already queued still read it safely).
 */
final class Temporaries implements AutoCloseable {

    private final CudaCopy copier;
    private final List<Tensor> owned = new ArrayList<>();

    Temporaries(CudaCopy copier) {
        this.copier = copier;
    }

    /** t itself when it is contiguous and of {@code dtype} (null: any), else a packed device copy. */
    Tensor packed(Tensor t, DType dtype) {
        Tensor p = copier.packed(t, dtype);
        if (p != t) {
            owned.add(p);
        }
        return p;
    }

    /** t itself when its last dim is packed (stride 1) and it has {@code dtype}, else a packed copy. */
    Tensor rowsPacked(Tensor t, DType dtype) {
        boolean lastPacked = t.rank() == 0 || t.dim(-1) <= 1 || t.stride(-1) == 1;
        if (lastPacked && (dtype == null || t.dtype() == dtype)) {
            return t;
        }
        Tensor p = copier.contiguousCopy(t, dtype == null ? t.dtype() : dtype);
        owned.add(p);
        return p;
    }

    /** Always a fresh packed copy of t as {@code dtype} (fresh blocks are 256-byte aligned), closed with the others. */
    Tensor copy(Tensor t, DType dtype) {
        Tensor p = copier.contiguousCopy(t, dtype);
        owned.add(p);
        return p;
    }

    /** A fresh scratch tensor, closed with the others. */
    Tensor scratch(DType dtype, int... shape) {
        Tensor t = copier.context().scratch(dtype, shape);
        owned.add(t);
        return t;
    }

    /** Indices uploaded as a device I32 tensor, closed with the others. */
    Tensor ints(int[] values) {
        Tensor t = copier.uploadInts(values);
        owned.add(t);
        return t;
    }

    @Override
    public void close() {
        for (Tensor t : owned) {
            t.close();
        }
        owned.clear();
    }
}
