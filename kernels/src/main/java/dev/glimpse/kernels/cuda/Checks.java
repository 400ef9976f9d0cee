package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;

import java.util.Arrays;

/** Argument checks shared by the CUDA operations, with messages that say what was expected. */
final class Checks {

    private Checks() {
    }

    static void onDevice(Tensor t, Device device, String op, String name) {
        if (t == null) {
            throw new TensorException(op + ": " + name + " must not be null");
        }
        if (!t.device().equals(device)) {
            throw new TensorException(op + ": " + name + " is on " + t.device() + "; the CUDA backend on " + device
                    + " needs it there (upload it first)");
        }
    }

    static void f32(Tensor t, Device device, String op, String name) {
        onDevice(t, device, op, name);
        if (t.dtype() != DType.F32) {
            throw new TensorException(op + ": " + name + " must be F32, got " + t);
        }
    }

    static void floating(Tensor t, Device device, String op, String name) {
        onDevice(t, device, op, name);
        if (!t.dtype().isFloatingPoint()) {
            throw new TensorException(op + ": " + name + " must be F32, F16 or BF16, got " + t);
        }
    }

    static void rank(Tensor t, int rank, String op, String name, String layout) {
        if (t.rank() != rank) {
            throw new TensorException(op + ": " + name + " must be " + layout + " (rank " + rank + "), got " + t);
        }
    }

    /** An output: F32, contiguous, on the device, of exactly {@code shape}. */
    static void out(Tensor out, int[] shape, Device device, String op) {
        f32(out, device, op, "out");
        if (!Arrays.equals(out.shape(), shape)) {
            throw new TensorException(op + ": out must have shape " + Arrays.toString(shape) + ", got " + out);
        }
        if (!contiguous(out)) {
            throw new TensorException(op + ": out must be contiguous, got " + out);
        }
    }

    /** An output that may be 16-bit: F32, F16 or BF16, contiguous, on the device, of exactly {@code shape}. */
    static void floatOut(Tensor out, int[] shape, Device device, String op) {
        floating(out, device, op, "out");
        if (!Arrays.equals(out.shape(), shape)) {
            throw new TensorException(op + ": out must have shape " + Arrays.toString(shape) + ", got " + out);
        }
        if (!contiguous(out)) {
            throw new TensorException(op + ": out must be contiguous, got " + out);
        }
    }

    /**
     * Key and value caches of one layer: packed [Hkv, capacity, D] of one shape and one entry type
     * (F32, BF16 or F16), on the device.
     *
     * @return their shape
     */
    static int[] kvCache(Tensor keyCache, Tensor valueCache, Device device, String op) {
        floating(keyCache, device, op, "keyCache");
        floating(valueCache, device, op, "valueCache");
        rank(keyCache, 3, op, "keyCache", "[Hkv, capacity, D]");
        if (!keyCache.sameShape(valueCache) || keyCache.dtype() != valueCache.dtype() || !contiguous(keyCache)
                || !contiguous(valueCache)) {
            throw new TensorException(op + ": caches must be packed [Hkv, capacity, D] of one shape and dtype, got "
                    + keyCache + " and " + valueCache);
        }
        return keyCache.shape();
    }

    /**
     * The operands of a prefill block's RoPE and KV cache append, shared by the append alone
     * ({@code CudaPointwise#ropeAppendKvRows}) and with the attention ({@code CudaAttention#ropeAppendAttention}):
     * F32 q [T, Hq, D], k, v [T, Hkv, D] and cos, sin [T, R/2] on {@code device}, caches as
     * {@link #kvCache} checks them, entries {@code start .. start + T} within their capacity.
     *
     * @return the shape: T, Hq, Hkv, capacity, D and the rotary half R/2
     */
    static RopeAppendShape ropeAppend(Tensor q, Tensor k, Tensor v, Tensor cos, Tensor sin, Tensor keyCache,
                                      Tensor valueCache, int start, Device device, String op) {
        int[] cache = kvCache(keyCache, valueCache, device, op);
        int hkv = cache[0];
        int capacity = cache[1];
        int d = cache[2];
        f32(q, device, op, "q");
        f32(k, device, op, "k");
        f32(v, device, op, "v");
        rank(q, 3, op, "q", "[T, Hq, D]");
        int t = q.dim(0);
        int[] kvShape = {t, hkv, d};
        if (q.dim(2) != d || !Arrays.equals(k.shape(), kvShape) || !k.sameShape(v)) {
            throw new TensorException(op + ": q must be [T, Hq, " + d + "] and k, v " + Arrays.toString(kvShape)
                    + ", got " + q + ", " + k + " and " + v);
        }
        if (start < 0 || (long) start + t > capacity) {
            throw new TensorException(op + ": entries " + start + " .. " + ((long) start + t)
                    + " exceed the caches' capacity of " + capacity);
        }
        f32(cos, device, op, "cos");
        f32(sin, device, op, "sin");
        rank(cos, 2, op, "cos", "[T, R/2]");
        return new RopeAppendShape(t, q.dim(1), hkv, capacity, d, OpChecks.ropeTables(q, cos, sin));
    }

    /** {@link #ropeAppend}'s shape: tokens, query heads, kv heads, cache capacity, head dim, rotary half. */
    record RopeAppendShape(int t, int hq, int hkv, int capacity, int d, int half) {
    }

    /** The kernel-name suffix of a KV cache's entry type: none for F32, {@code _bf16}, {@code _f16}. */
    static String kvSuffix(Tensor cache) {
        return switch (cache.dtype()) {
            case BF16 -> "_bf16";
            case F16 -> "_f16";
            default -> "";
        };
    }

    /** A count or position the kernels read from device memory: an I32 [1] on the device. */
    static void deviceCount(Tensor t, Device device, String op, String name) {
        onDevice(t, device, op, name);
        if (t.dtype() != DType.I32 || t.numel() != 1) {
            throw new TensorException(op + ": " + name + " must be a device I32 [1], got " + t);
        }
    }

    static boolean contiguous(Tensor t) {
        return t.numel() == 0 || t.isContiguous();
    }

    /** Size of the last dim (1 for a scalar). */
    static int width(Tensor t) {
        return OpChecks.width(t);
    }

    /** Product of all dims but the last. */
    static int rows(Tensor t) {
        return OpChecks.rows(t);
    }
}
