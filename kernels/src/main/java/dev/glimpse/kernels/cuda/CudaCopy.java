package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import org.bytedeco.cuda.global.cudart;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * Moving data: host/device transfers, dtype-converting strided copies on the device (the
 * {@code strided_copy} kernel, or a plain {@code cudaMemcpyAsync} when layouts and dtypes match),
 * index-select, concatenation and embedding lookup.
 */
final class CudaCopy {

    private final CudaContext ctx;
    /** The StridedLayout struct of the copy being launched, refilled per copy (the launch copies its bytes). */
    private final MemorySegment layout = Arena.ofAuto().allocate(StridedLayout.BYTES, 8);

    CudaCopy(CudaContext ctx) {
        this.ctx = ctx;
    }

    CudaContext context() {
        return ctx;
    }

    Tensor upload(Tensor host) {
        if (host.device().equals(ctx.device)) {
            return host;
        }
        if (!host.device().isHost()) {
            throw new TensorException("upload: " + host + " is on another device; download it first");
        }
        Tensor dst = ctx.memory.tensor(host.dtype(), host.shape(), false);
        try {
            hostToDevice(host, dst);
        } catch (RuntimeException e) {
            dst.close();
            throw e;
        }
        return dst;
    }

    Tensor download(Tensor t) {
        if (t.device().isHost()) {
            return t;
        }
        Checks.onDevice(t, ctx.device, "download", "tensor");
        Tensor host = Tensor.allocate(t.dtype(), t.shape());
        try (Temporaries tmp = new Temporaries(this)) {
            deviceToHost(tmp.packed(t, null), host);
        }
        return host;
    }

    /** {@link dev.glimpse.kernels.Backend#copy}: any mix of host and device tensors of one shape. */
    void copy(Tensor src, Tensor dst) {
        if (src == null || dst == null) {
            throw new TensorException("copy: src and dst must not be null");
        }
        OpChecks.copyShapes(src, dst);
        boolean srcHost = src.device().isHost();
        boolean dstHost = dst.device().isHost();
        if (!srcHost) {
            Checks.onDevice(src, ctx.device, "copy", "src");
        }
        if (!dstHost) {
            Checks.onDevice(dst, ctx.device, "copy", "dst");
        }
        if (src.numel() == 0) {
            return;
        }
        if (srcHost && dstHost) {
            src.copyElementsTo(dst);
        } else if (srcHost && src.dtype() == dst.dtype() && Checks.contiguous(dst)) {
            hostToDevice(src, dst);
        } else if (srcHost) {
            Tensor up = upload(src);
            try {
                onDevice(up, dst);
            } finally {
                up.close();
            }
        } else if (dstHost) {
            try (Temporaries tmp = new Temporaries(this)) {
                Tensor packed = tmp.packed(src, dst.dtype());
                if (Checks.contiguous(dst) && dst.segment().isNative()) {
                    deviceToHost(packed, dst);
                } else {
                    Tensor staged = Tensor.allocate(dst.dtype(), dst.shape());
                    try {
                        deviceToHost(packed, staged);
                        staged.copyElementsTo(dst);
                    } finally {
                        staged.close();
                    }
                }
            }
        } else {
            onDevice(src, dst);
        }
    }

    /** Copies between two tensors on this device, any strides and dtypes. */
    void onDevice(Tensor src, Tensor dst) {
        if (src.numel() == 0) {
            return;
        }
        if (src.dtype() == dst.dtype() && src.isContiguous() && dst.isContiguous()) {
            Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(CudaContext.address(dst)), Cuda.at(CudaContext.address(src)),
                    src.numel() * src.dtype().byteSize(), cudart.cudaMemcpyDeviceToDevice, ctx.stream), "cudaMemcpyAsync(D2D)");
            return;
        }
        strided(src, dst, 0L);
    }

    /** t when contiguous and of dtype (null: any), else a contiguous copy the caller closes. */
    Tensor packed(Tensor t, DType dtype) {
        Checks.onDevice(t, ctx.device, "copy", "tensor");
        if (Checks.contiguous(t) && (dtype == null || t.dtype() == dtype)) {
            return t;
        }
        return contiguousCopy(t, dtype == null ? t.dtype() : dtype);
    }

    /** A new contiguous device tensor holding t's values as dtype. */
    Tensor contiguousCopy(Tensor t, DType dtype) {
        Tensor copy = ctx.scratch(dtype, t.shape());
        try {
            onDevice(t, copy);
        } catch (RuntimeException e) {
            copy.close();
            throw e;
        }
        return copy;
    }

    Tensor uploadInts(int[] values) {
        Tensor t = ctx.scratch(DType.I32, values.length);
        if (values.length > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocateFrom(ValueLayout.JAVA_INT, values);
                // Pageable source: staged before the call returns (see hostToDevice), so no wait.
                Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(CudaContext.address(t)), Cuda.at(host.address()),
                        values.length * 4L, cudart.cudaMemcpyHostToDevice, ctx.stream), "cudaMemcpyAsync(H2D)");
            }
        }
        return t;
    }

    int[] downloadInts(Tensor t) {
        int n = Math.toIntExact(t.numel());
        int[] out = new int[n];
        if (n > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment host = arena.allocate(n * 4L, 16);
                Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(host.address()), Cuda.at(CudaContext.address(t)), n * 4L,
                        cudart.cudaMemcpyDeviceToHost, ctx.stream), "cudaMemcpyAsync(D2H)");
                ctx.synchronize();
                MemorySegment.copy(host, ValueLayout.JAVA_INT, 0, out, 0, n);
            }
        }
        return out;
    }

    /** {@code torch.index_select(x, 0, rows)} on the device. */
    void gatherRows(Tensor x, int[] rows, Tensor out) {
        Checks.onDevice(x, ctx.device, "gatherRows", "x");
        Checks.onDevice(out, ctx.device, "gatherRows", "out");
        OpChecks.gatherRows(x, rows, out);
        if (out.numel() == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(this)) {
            strided(x, out, CudaContext.address(tmp.ints(rows)));
        }
    }

    /** {@code torch.cat(parts, dim=axis)} into out, all on the device. */
    void concat(int axis, List<Tensor> parts, Tensor out) {
        Checks.onDevice(out, ctx.device, "concat", "out");
        int a = OpChecks.concat(axis, parts, out, p -> Checks.onDevice(p, ctx.device, "concat", "part"));
        int start = 0;
        for (Tensor p : parts) {
            int len = p.dim(a);
            if (len > 0) {
                onDevice(p, out.slice(a, start, start + len));
            }
            start += len;
        }
    }

    /** {@code nn.Embedding}: out[t] = table[ids[t]] as F32. */
    void embedding(Tensor table, int[] ids, Tensor out) {
        Checks.floating(table, ctx.device, "embedding", "table");
        Checks.rank(table, 2, "embedding", "table", "[V, D]");
        if (ids == null) {
            throw new TensorException("embedding: ids must not be null");
        }
        int vocab = table.dim(0);
        int d = table.dim(1);
        Checks.out(out, new int[] {ids.length, d}, ctx.device, "embedding");
        OpChecks.tokenIds(ids, vocab);
        if (ids.length == 0 || d == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(this)) {
            Tensor t = tmp.rowsPacked(table, null);
            long rowStride = t.dim(0) == 1 ? d : t.stride(0);
            ctx.launch.of(ctx.kernels.function("copy", "embedding_rows"), "embedding_rows")
                    .ptr(CudaContext.address(t)).i32(t.dtype().ordinal()).i64(rowStride)
                    .ptr(CudaContext.address(tmp.ints(ids))).ptr(CudaContext.address(out)).i32(ids.length).i32(d)
                    .run(ids.length, 1, Math.min(256, (d + 31) / 32 * 32), 0);
        }
    }

    /** {@link #gatherRows(Tensor, int[], Tensor)} with device row indices (I32 [R], not range-checked). */
    void gatherRows(Tensor x, Tensor rows, Tensor out) {
        Checks.onDevice(x, ctx.device, "gatherRows", "x");
        Checks.onDevice(out, ctx.device, "gatherRows", "out");
        requireIndices(rows, "gatherRows", "rows");
        int[] expected = x.shape();
        expected[0] = rows.dim(0);
        if (!Arrays.equals(out.shape(), expected)) {
            throw new TensorException("gatherRows: out must have shape " + Arrays.toString(expected) + ", got " + out);
        }
        if (out.numel() > 0) {
            strided(x, out, CudaContext.address(rows));
        }
    }

    /** {@link #embedding(Tensor, int[], Tensor)} with device ids (I32 [T], not range-checked). */
    void embedding(Tensor table, Tensor ids, Tensor out) {
        Checks.floating(table, ctx.device, "embedding", "table");
        Checks.rank(table, 2, "embedding", "table", "[V, D]");
        requireIndices(ids, "embedding", "ids");
        int d = table.dim(1);
        int tokens = ids.dim(0);
        Checks.out(out, new int[] {tokens, d}, ctx.device, "embedding");
        if (tokens == 0 || d == 0) {
            return;
        }
        try (Temporaries tmp = new Temporaries(this)) {
            Tensor t = tmp.rowsPacked(table, null);
            long rowStride = t.dim(0) == 1 ? d : t.stride(0);
            ctx.launch.of(ctx.kernels.function("copy", "embedding_rows"), "embedding_rows")
                    .ptr(CudaContext.address(t)).i32(t.dtype().ordinal()).i64(rowStride)
                    .ptr(CudaContext.address(ids)).ptr(CudaContext.address(out)).i32(tokens).i32(d)
                    .run(tokens, 1, Math.min(256, (d + 31) / 32 * 32), 0);
        }
    }

    private void requireIndices(Tensor t, String op, String name) {
        Checks.onDevice(t, ctx.device, op, name);
        if (t.dtype() != DType.I32 || t.rank() != 1 || !Checks.contiguous(t)) {
            throw new TensorException(op + ": device " + name + " must be a packed I32 [n] tensor, got " + t);
        }
    }

    private void strided(Tensor src, Tensor dst, long rowIndex) {
        synchronized (layout) {
            StridedLayout.fill(layout, src, dst);
            long count = dst.numel();
            boolean vec4 = fourWide(src) && fourWide(dst);
            String kernel = vec4 ? "strided_copy_vec4" : "strided_copy";
            ctx.launch.of(ctx.kernels.function("copy", kernel), kernel)
                    .ptr(CudaContext.address(src)).i32(src.dtype().ordinal())
                    .ptr(CudaContext.address(dst)).i32(dst.dtype().ordinal())
                    .struct(layout).i64(count).ptr(rowIndex)
                    .run(ctx.pointwiseBlocks(vec4 ? count / 4 : count), 1, CudaContext.POINTWISE_THREADS, 0);
        }
    }

    /**
     * True when {@code strided_copy_vec4} may move t's elements four at a time: a float dtype, the
     * last dim packed with an extent that is a multiple of 4, every other stride a multiple of 4 and
     * the first element aligned to 4 elements (so every group of 4 is one aligned vector access).
     */
    static boolean fourWide(Tensor t) {
        if (t.rank() == 0 || !(t.dtype() == DType.F32 || t.dtype() == DType.F16 || t.dtype() == DType.BF16)) {
            return false;
        }
        if (t.dim(-1) % 4 != 0 || t.stride(-1) != 1) {
            return false;
        }
        for (int a = 0; a < t.rank() - 1; a++) {
            if (t.dim(a) > 1 && t.stride(a) % 4 != 0) {
                return false;
            }
        }
        return CudaContext.address(t) % (4L * t.dtype().byteSize()) == 0;
    }

    /**
     * Queues the copy of a host tensor into {@code dst} without waiting for the device. Host tensors
     * are pageable memory, except {@link CudaBackend#stagingTensor}'s (page-locked unless
     * {@code -Dglimpse.cuda.pinnedStaging=false}; {@link StepInputs} pins too, and uploads by its own
     * path). For a pageable source {@code cudaMemcpyAsync} copies the bytes into the driver's
     * staging memory before it returns (CUDA's API synchronization behavior), so the source may be
     * freed or changed at once; a page-locked staging tensor is read by DMA after the call returns, and
     * its buffer goes back to the pool with an event behind the copy when the tensor closes. Not waiting lets the host keep queueing work behind the kernels
     * already running: an upload in the middle of a request (prompt ids, gather rows, captured rows)
     * no longer drains the stream.
     */
    private void hostToDevice(Tensor host, Tensor dst) {
        Tensor h = hostContiguous(host);
        try {
            long bytes = h.numel() * h.dtype().byteSize();
            if (bytes > 0) {
                Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(CudaContext.address(dst)), Cuda.at(CudaContext.address(h)), bytes,
                        cudart.cudaMemcpyHostToDevice, ctx.stream), "cudaMemcpyAsync(H2D, " + bytes + " bytes)");
            }
        } finally {
            if (h != host) {
                h.close();
            }
        }
    }

    /** Copies a contiguous device tensor into a contiguous native host tensor of the same dtype. */
    private void deviceToHost(Tensor device, Tensor host) {
        long bytes = device.numel() * device.dtype().byteSize();
        if (bytes > 0) {
            Cuda.check(cudart.cudaMemcpyAsync(Cuda.at(CudaContext.address(host)), Cuda.at(CudaContext.address(device)), bytes,
                    cudart.cudaMemcpyDeviceToHost, ctx.stream), "cudaMemcpyAsync(D2H, " + bytes + " bytes)");
        }
        ctx.synchronize();
    }

    private static Tensor hostContiguous(Tensor host) {
        if (Checks.contiguous(host) && host.segment().isNative()) {
            return host;
        }
        Tensor copy = Tensor.allocate(host.dtype(), host.shape());
        host.copyElementsTo(copy);
        return copy;
    }
}
