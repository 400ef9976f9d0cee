package dev.glimpse.kernels;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Model weights placed once, at load, where a {@link Backend} computes. On a host backend
 * {@link #place} is the identity: weights stay zero-copy views of the memory-mapped checkpoint. On
 * a device backend each distinct tensor is uploaded once ({@link Backend#upload}); a tensor placed
 * again (the same storage, offset, dtype, shape and strides, e.g. a tied {@code lm_head}) gets the
 * same device copy; {@link #placeConcatenated} uploads several tensors as one, their places
 * becoming views of it. One store serves every part of a model (vision tower, projector, decoder), and
 * {@link #close} frees the uploaded copies, never the host views. Thread-safe.
 */
public final class ResidentWeights implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ResidentWeights.class);

    private final Backend backend;
    private final Map<Placement, Tensor> byStorage = new HashMap<>();
    private final List<Tensor> uploaded = new ArrayList<>();
    private long uploadedBytes;
    private long uploadNanos;

    public ResidentWeights(Backend backend) {
        this.backend = backend;
    }

    public Backend backend() {
        return backend;
    }

    /** True when weights are used where they are mapped (the backend computes on the host). */
    public boolean isHost() {
        return backend.device().isHost();
    }

    /**
     * {@code weight} on the backend's device: itself on a host backend or when already there, else
     * its device copy (uploaded on first use). Null stays null (an absent bias).
     */
    public synchronized Tensor place(Tensor weight) {
        return weight == null ? null : place(weight, weight.dtype());
    }

    /**
     * A bias on the backend's device in F32, the type GEMM epilogues add it in: converted once here
     * (exactly: every F16/BF16 value is an F32), so no product converts it again at every call. Itself
     * on a host backend, where kernels widen it as they read. Null stays null.
     */
    public synchronized Tensor placeBias(Tensor bias) {
        return bias == null ? null : place(bias, isHost() ? bias.dtype() : DType.F32);
    }

    private Tensor place(Tensor weight, DType dtype) {
        if (weight.device().equals(backend.device())) {
            return weight;
        }
        Placement key = weight.segment().isNative() ? new Placement(Key.of(weight), dtype) : null;
        Tensor placed = key == null ? null : byStorage.get(key);
        if (placed == null) {
            long start = System.nanoTime();
            if (dtype == weight.dtype()) {
                placed = backend.upload(weight);
            } else {
                placed = backend.allocate(dtype, weight.shape());
                try {
                    backend.copy(weight, placed);
                } catch (RuntimeException e) {
                    placed.close();
                    throw e;
                }
            }
            uploadNanos += System.nanoTime() - start;
            uploaded.add(placed);
            uploadedBytes += placed.numel() * placed.dtype().byteSize();
            if (key != null) {
                byStorage.put(key, placed);
            }
        }
        return placed;
    }

    /**
     * The concatenation of {@code parts} along dim 0, uploaded once as one device tensor
     * [sum of dim 0, ..]; from then on {@link #place} of each part gives its slice of that tensor
     * (a view, no second copy), so consumers of the separate tensors and of the concatenation read
     * the same device memory. Null, with nothing uploaded, on a host backend (the mapped parts stay
     * separate there), when a part is already resident on its own, or when the parts differ in
     * dtype or trailing shape or are not native memory.
     */
    public synchronized Tensor placeConcatenated(List<Tensor> parts) {
        return parts.isEmpty() ? null : placeConcatenated(parts, parts.getFirst().dtype());
    }

    /**
     * {@link #placeConcatenated} of biases, in F32 as {@link #placeBias} places them: {@link #placeBias}
     * of each part then gives its slice.
     */
    public synchronized Tensor placeConcatenatedBiases(List<Tensor> parts) {
        return placeConcatenated(parts, DType.F32);
    }

    private Tensor placeConcatenated(List<Tensor> parts, DType dtype) {
        if (isHost() || parts.isEmpty()) {
            return null;
        }
        Tensor first = parts.getFirst();
        int rows = 0;
        List<Placement> keys = new ArrayList<>();
        for (Tensor part : parts) {
            if (part.rank() < 1 || part.dtype() != first.dtype() || part.device().equals(backend.device())
                    || !part.segment().isNative()
                    || !Arrays.equals(Arrays.copyOfRange(part.shape(), 1, part.rank()),
                    Arrays.copyOfRange(first.shape(), 1, first.rank()))) {
                return null;
            }
            Placement key = new Placement(Key.of(part), dtype);
            if (byStorage.containsKey(key)) {
                return null;
            }
            keys.add(key);
            rows = Math.addExact(rows, part.dim(0));
        }
        int[] shape = first.shape();
        shape[0] = rows;
        long start = System.nanoTime();
        Tensor whole = backend.allocate(dtype, shape);
        try {
            int row = 0;
            for (int i = 0; i < parts.size(); i++) {
                Tensor part = parts.get(i);
                Tensor slice = whole.slice(0, row, row + part.dim(0));
                backend.copy(part, slice);
                byStorage.put(keys.get(i), slice);
                row += part.dim(0);
            }
        } catch (RuntimeException e) {
            keys.forEach(byStorage::remove);
            whole.close();
            throw e;
        }
        uploadNanos += System.nanoTime() - start;
        uploaded.add(whole);
        uploadedBytes += whole.numel() * whole.dtype().byteSize();
        return whole;
    }

    /** Bytes uploaded to the device so far (0 on a host backend). */
    public synchronized long uploadedBytes() {
        return uploadedBytes;
    }

    /** Logs what was uploaded, once a model's weights are all placed. */
    public synchronized void logSummary(String what) {
        if (!uploaded.isEmpty()) {
            LOG.info("{}: {} weight tensors ({} MiB) resident on {} (uploaded in {} ms)", what, uploaded.size(),
                    uploadedBytes >> 20, backend.device(), uploadNanos / 1_000_000);
        }
    }

    /** Frees the device copies; host views are the checkpoint's. Idempotent. */
    @Override
    public synchronized void close() {
        uploaded.forEach(Tensor::close);
        uploaded.clear();
        byStorage.clear();
    }

    /** A host tensor's elements placed as {@code dtype}. */
    private record Placement(Key source, DType dtype) {
    }

    /** Identity of a host tensor's elements: where they start and how they are laid out. */
    private record Key(long address, DType dtype, List<Integer> shape, List<Long> strides) {
        static Key of(Tensor t) {
            return new Key(t.segment().address() + t.byteOffset(), t.dtype(),
                    Arrays.stream(t.shape()).boxed().toList(), Arrays.stream(t.strides()).boxed().toList());
        }
    }
}
