package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.glimpse.kernels.cpu.Rows.ORDER;
import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Scaled dot-product attention with grouped kv heads, as HF's {@code eager_attention_forward}
 * ({@code softmax(q k^T * scaling + mask) v}, kv heads repeated with {@code repeat_kv}).
 *
 * <p>Work is split over (query head, block of {@value #QUERY_BLOCK} queries); each query row takes
 * the exact two-pass softmax over only its visible keys, so memory is one score row per task and
 * never T x S x H. Keys and values are read in place when their last dim is packed F32 (e.g. a KV
 * cache slice), otherwise from one packed copy. A row with no keys (S = 0) outputs zeros.
 * Capturing probabilities reads the same normalised probabilities the output is built from, so it
 * cannot change the output.
 */
final class Attention {

    private static final int QUERY_BLOCK = 16;
    private static final int GRAIN_FLOPS = 1 << 16;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private Attention() {
    }

    static void compute(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                        AttentionCapture capture) {
        Shape shape = validate(q, k, v, mask, out);
        Capture cap = Capture.of(capture, shape);
        Tensor kp = packed(k);
        Tensor vp = packed(v);
        try {
            int blocks = (shape.t + QUERY_BLOCK - 1) / QUERY_BLOCK;
            long flopsPerTask = 4L * Math.max(1, Math.min(QUERY_BLOCK, shape.t)) * Math.max(1, shape.s) * Math.max(1, shape.d);
            int grain = (int) Math.max(1, GRAIN_FLOPS / flopsPerTask);
            int queryStart = mask instanceof AttentionMask.Causal c ? c.queryStart() : -1;
            CpuParallel.forRange(shape.hq * blocks, grain, (from, to) -> {
                Worker w = new Worker(q, kp, vp, out, shape, scale, queryStart, cap);
                for (int task = from; task < to; task++) {
                    w.run(task / blocks, (task % blocks) * QUERY_BLOCK);
                }
            });
            cap.finish();
        } finally {
            if (kp != k) {
                kp.close();
            }
            if (vp != v) {
                vp.close();
            }
        }
    }

    /** Dimensions of one call: T queries, S keys, Hq query heads, Hkv kv heads, head dim D. */
    private record Shape(int t, int s, int hq, int hkv, int d) {
    }

    private static Shape validate(Tensor q, Tensor k, Tensor v, AttentionMask mask, Tensor out) {
        Rows.requireF32(q, "attention", "q");
        Rows.requireRank(q, 3, "attention", "q", "[T, Hq, D]");
        Rows.requireFloat(k, "attention", "k");
        Rows.requireRank(k, 3, "attention", "k", "[S, Hkv, D]");
        Rows.requireFloat(v, "attention", "v");
        if (!k.sameShape(v)) {
            throw new TensorException("attention: k and v must have the same shape [S, Hkv, D], got " + k + " and " + v);
        }
        int t = q.dim(0);
        int hq = q.dim(1);
        int d = q.dim(2);
        int s = k.dim(0);
        int hkv = k.dim(1);
        if (k.dim(2) != d) {
            throw new TensorException("attention: k's head dim must equal q's (" + d + "), got " + k);
        }
        if (hkv == 0 || hq % hkv != 0) {
            throw new TensorException("attention: query heads (" + hq + ") must be a multiple of kv heads (" + hkv + ")");
        }
        if (mask == null) {
            throw new TensorException("attention: mask must not be null (AttentionMask.BIDIRECTIONAL or causal(start))");
        }
        if (mask instanceof AttentionMask.Causal c && (long) c.queryStart() + t > s) {
            throw new TensorException("attention: causal queryStart " + c.queryStart() + " + " + t
                    + " queries needs at least that many keys, got S = " + s);
        }
        Rows.requireOut(out, q.shape(), "attention");
        return new Shape(t, s, hq, hkv, d);
    }

    /** t itself when rows of its last dim are packed F32, else a packed F32 copy (caller closes it). */
    private static Tensor packed(Tensor t) {
        if (Rows.packedF32(t)) {
            return t;
        }
        Tensor copy = Tensor.allocate(DType.F32, t.shape());
        Indexing.copy(t, copy);
        return copy;
    }

    /** One thread's scratch and the per-row kernel. */
    private static final class Worker {
        private final Tensor q;
        private final Tensor k;
        private final Tensor v;
        private final Tensor out;
        private final Shape shape;
        private final float scale;
        private final int queryStart;
        private final Capture capture;
        private final float[] query;
        private final float[] acc;
        private final float[] probs;
        private final float[] columnSums;

        Worker(Tensor q, Tensor k, Tensor v, Tensor out, Shape shape, float scale, int queryStart, Capture capture) {
            this.q = q;
            this.k = k;
            this.v = v;
            this.out = out;
            this.shape = shape;
            this.scale = scale;
            this.queryStart = queryStart;
            this.capture = capture;
            this.query = new float[shape.d];
            this.acc = new float[shape.d];
            this.probs = new float[shape.s];
            this.columnSums = capture.columnSums == null ? null : new float[shape.s];
        }

        void run(int head, int firstQuery) {
            int kvHead = head / (shape.hq / shape.hkv);
            int last = Math.min(shape.t, firstQuery + QUERY_BLOCK);
            if (columnSums != null) {
                Arrays.fill(columnSums, 0f);
            }
            for (int t = firstQuery; t < last; t++) {
                int visible = queryStart < 0 ? shape.s : Math.min(shape.s, queryStart + t + 1);
                row(head, kvHead, t, visible);
                capture.rows(head, t, probs, visible);
                if (columnSums != null) {
                    addInto(columnSums, probs, visible);
                }
            }
            if (columnSums != null) {
                capture.addColumnSums(head, columnSums);
            }
        }

        private void row(int head, int kvHead, int t, int visible) {
            int d = shape.d;
            Rows.read(q, q.offset() + t * q.stride(0) + head * q.stride(1), q.stride(2), d, query, 0);
            MemorySegment ks = k.segment();
            long kBase = k.offset() + kvHead * k.stride(1);
            for (int j = 0; j < visible; j++) {
                probs[j] = dot(query, ks, (kBase + j * k.stride(0)) * 4, d) * scale;
            }
            float max = Normalization.max(probs, visible);
            float sum = 0f;
            for (int j = 0; j < visible; j++) {
                float e = (float) Math.exp(probs[j] - max);
                probs[j] = e;
                sum += e;
            }
            Arrays.fill(acc, 0f);
            MemorySegment vs = v.segment();
            long vBase = v.offset() + kvHead * v.stride(1);
            for (int j = 0; j < visible; j++) {
                probs[j] /= sum;
                axpy(probs[j], vs, (vBase + j * v.stride(0)) * 4, acc, d);
            }
            MemorySegment.copy(acc, 0, out.segment(), F32, out.byteOffset() + ((long) t * shape.hq + head) * d * 4, d);
        }
    }

    private static float dot(float[] x, MemorySegment seg, long byteOffset, int n) {
        FloatVector sum = FloatVector.zero(SPECIES);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            sum = FloatVector.fromArray(SPECIES, x, i)
                    .fma(FloatVector.fromMemorySegment(SPECIES, seg, byteOffset + i * 4L, ORDER), sum);
        }
        float s = sum.reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            s += x[i] * seg.get(F32, byteOffset + i * 4L);
        }
        return s;
    }

    /** acc += a * seg[0, n). */
    private static void axpy(float a, MemorySegment seg, long byteOffset, float[] acc, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromMemorySegment(SPECIES, seg, byteOffset + i * 4L, ORDER)
                    .fma(FloatVector.broadcast(SPECIES, a), FloatVector.fromArray(SPECIES, acc, i)).intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] += a * seg.get(F32, byteOffset + i * 4L);
        }
    }

    private static void addInto(float[] acc, float[] x, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, acc, i).add(FloatVector.fromArray(SPECIES, x, i)).intoArray(acc, i);
        }
        for (; i < n; i++) {
            acc[i] += x[i];
        }
    }

    /** The validated capture request; a no-op when none was asked for. */
    private static final class Capture {
        private final Tensor rowProbs;
        private final Tensor columnSums;
        private final int[][] slotsOfRow;
        private final double[] sums;
        private final Shape shape;

        private Capture(Tensor rowProbs, Tensor columnSums, int[][] slotsOfRow, Shape shape) {
            this.rowProbs = rowProbs;
            this.columnSums = columnSums;
            this.slotsOfRow = slotsOfRow;
            this.shape = shape;
            this.sums = columnSums == null ? null : new double[shape.hq * shape.s];
        }

        static Capture of(AttentionCapture c, Shape shape) {
            if (c == null) {
                return new Capture(null, null, null, shape);
            }
            int[][] slots = null;
            if (c.queryRows() != null || c.rowProbs() != null) {
                if (c.queryRows() == null || c.rowProbs() == null) {
                    throw new TensorException("attention capture: queryRows and rowProbs must be given together");
                }
                int[] rows = c.queryRows();
                Rows.requireOut(c.rowProbs(), new int[] {shape.hq, rows.length, shape.s}, "attention capture rowProbs");
                slots = new int[shape.t][];
                for (int i = 0; i < rows.length; i++) {
                    int r = rows[i];
                    if (r < 0 || r >= shape.t) {
                        throw new TensorException("attention capture: query row " + r + " is outside [0, " + shape.t + ")");
                    }
                    int[] old = slots[r] == null ? new int[0] : slots[r];
                    slots[r] = Arrays.copyOf(old, old.length + 1);
                    slots[r][old.length] = i;
                }
            }
            if (c.columnSums() != null) {
                Rows.requireOut(c.columnSums(), new int[] {shape.hq, shape.s}, "attention capture columnSums");
            }
            return new Capture(c.rowProbs(), c.columnSums(), slots, shape);
        }

        /** Stores row t's probabilities (zero for masked keys) if it was asked for. */
        void rows(int head, int t, float[] probs, int visible) {
            if (slotsOfRow == null || slotsOfRow[t] == null) {
                return;
            }
            int captured = rowProbs.dim(1);
            for (int slot : slotsOfRow[t]) {
                long base = rowProbs.byteOffset() + ((long) head * captured + slot) * shape.s * 4;
                MemorySegment.copy(probs, 0, rowProbs.segment(), F32, base, visible);
                rowProbs.segment().asSlice(base + visible * 4L, (long) (shape.s - visible) * 4).fill((byte) 0);
            }
        }

        void addColumnSums(int head, float[] partial) {
            synchronized (sums) {
                for (int j = 0; j < shape.s; j++) {
                    sums[head * shape.s + j] += partial[j];
                }
            }
        }

        void finish() {
            if (columnSums != null) {
                for (int i = 0; i < sums.length; i++) {
                    columnSums.segment().set(F32, columnSums.byteOffset() + i * 4L, (float) sums[i]);
                }
            }
        }
    }
}
