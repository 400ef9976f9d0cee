package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.OpChecks;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TensorException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

import static dev.glimpse.kernels.cpu.Rows.SPECIES;

/**
 * Scaled dot-product attention with grouped kv heads, as HF's {@code eager_attention_forward}
 * ({@code softmax(q k^T * scaling + mask) v}, kv heads repeated with {@code repeat_kv}).
 *
 * <p>The rows of one kv head are its (query, query head) pairs, query-major, so the query heads
 * that share a kv head sit side by side. Work is split over (kv head, block of
 * {@value #ROW_BLOCK} rows) and each block runs in batches of {@value #BATCH} rows that share every
 * key and value load: four dot products per key (one lane reduction each), the exact two-pass
 * softmax per row with a vectorised exp, then probabilities times values with the four rows'
 * outputs accumulated in registers over the keys. A batch reads keys up to the largest visible
 * count of its rows; keys a row must not see get probability zero, as masked keys do in HF.
 * Memory is four score rows and one kv head's keys and values (S x D each) per thread, never
 * T x S x H. Each thread copies the keys and values of the kv head it works on into heap arrays
 * once (bulk copies of contiguous rows, e.g. a KV cache slice) and runs every vector load on
 * arrays: C2 intrinsifies {@code FloatVector.fromMemorySegment} only where its shared type
 * profile saw one segment class, and in a decoder it also sees heap segments (measured: decode
 * attention boxed every key load); BF16 and F16 keys and values (a 16-bit KV cache) are widened
 * exactly in that copy, so attention over them equals attention over their F32 values. A row with no keys (S = 0) outputs zeros. Capturing probabilities reads the same normalised probabilities
 * the output is built from, so it cannot change the output.
 */
final class Attention {

    /** Rows (query, query head) of one kv head per parallel task. */
    private static final int ROW_BLOCK = 16;
    /** Rows that share each key and value load. */
    private static final int BATCH = 4;
    private static final int GRAIN_FLOPS = 1 << 16;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /**
     * Per thread: arrays for one kv head's keys and values, grown on demand and reused across
     * calls (a decode step would otherwise allocate them for every layer).
     */
    private static final ThreadLocal<float[][]> KEYS_VALUES = ThreadLocal.withInitial(() -> new float[2][0]);

    private Attention() {
    }

    static void compute(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                        AttentionCapture capture, boolean[] activeHeads) {
        Shape shape = validate(q, k, v, mask, out);
        if (activeHeads != null && activeHeads.length != shape.hq) {
            throw new TensorException("attention: head mask has " + activeHeads.length + " entries for " + shape.hq
                    + " query heads");
        }
        Capture cap = Capture.of(capture, shape);
        Tensor kp = packed(k);
        Tensor vp = packed(v);
        try {
            int rowsPerKvHead = shape.t * (shape.hq / shape.hkv);
            int blocks = (rowsPerKvHead + ROW_BLOCK - 1) / ROW_BLOCK;
            long flopsPerTask = 4L * Math.max(1, Math.min(ROW_BLOCK, rowsPerKvHead)) * Math.max(1, shape.s)
                    * Math.max(1, shape.d);
            int grain = (int) Math.max(1, GRAIN_FLOPS / flopsPerTask);
            int queryStart = mask instanceof AttentionMask.Causal c ? c.queryStart() : -1;
            CpuParallel.forRange(shape.hkv * blocks, grain, (from, to) -> {
                Worker w = new Worker(q, kp, vp, out, shape, scale, queryStart, cap, activeHeads);
                for (int task = from; task < to; task++) {
                    w.run(task / blocks, (task % blocks) * ROW_BLOCK);
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
        OpChecks.attentionHeads(q, k, v);
        int t = q.dim(0);
        int hq = q.dim(1);
        int d = q.dim(2);
        int s = k.dim(0);
        int hkv = k.dim(1);
        OpChecks.attentionMask(mask, t, s);
        Rows.requireOut(out, q.shape(), "attention");
        return new Shape(t, s, hq, hkv, d);
    }

    /**
     * t itself when its last dim is packed (F32, BF16 or F16: the workers widen 16-bit rows exactly
     * as they copy them, so a 16-bit KV cache is read in place), else a packed F32 copy (caller closes it).
     */
    private static Tensor packed(Tensor t) {
        if (Rows.packedF32(t) || t.dim(2) <= 1 || t.stride(2) == 1) {
            return t;
        }
        Tensor copy = Tensor.allocate(DType.F32, t.shape());
        Indexing.copy(t, copy);
        return copy;
    }

    /** One thread's scratch and the per-batch kernels. */
    private static final class Worker {
        private final Tensor q;
        private final Tensor k;
        private final Tensor v;
        private final Tensor out;
        private final Shape shape;
        private final float scale;
        private final int queryStart;
        private final Capture capture;
        private final int group;
        /** The batch's query rows, D apart. */
        private final float[] query;
        /** The batch's output rows, D apart. */
        private final float[] outRows;
        /** The batch's scores, then probabilities, S apart. */
        private final float[] probs;
        private final float[] columnSums;
        private final int[] queryOf = new int[BATCH];
        private final int[] headOf = new int[BATCH];
        private final int[] visible = new int[BATCH];
        /** The query heads that run (null: all). */
        private final boolean[] activeHeads;
        /** The block's rows that run, in order. */
        private final int[] blockRows = new int[ROW_BLOCK];
        /** Keys and values of kv head {@link #loadedHead}, row j at j * D (thread scratch). */
        private final float[] keys;
        private final float[] values;
        private int loadedHead = -1;

        Worker(Tensor q, Tensor k, Tensor v, Tensor out, Shape shape, float scale, int queryStart, Capture capture,
               boolean[] activeHeads) {
            this.activeHeads = activeHeads;
            this.q = q;
            this.k = k;
            this.v = v;
            this.out = out;
            this.shape = shape;
            this.scale = scale;
            this.queryStart = queryStart;
            this.capture = capture;
            this.group = shape.hq / shape.hkv;
            this.query = new float[BATCH * shape.d];
            this.outRows = new float[BATCH * shape.d];
            this.probs = new float[BATCH * shape.s];
            this.columnSums = capture.columnSums == null ? null : new float[group * shape.s];
            float[][] kv = KEYS_VALUES.get();
            if (kv[0].length < shape.s * shape.d) {
                kv[0] = new float[shape.s * shape.d];
                kv[1] = new float[shape.s * shape.d];
            }
            this.keys = kv[0];
            this.values = kv[1];
        }

        /** Copies kv head kvHead's keys and values into {@link #keys} and {@link #values}. */
        private void load(int kvHead) {
            if (loadedHead == kvHead) {
                return;
            }
            readHead(k, kvHead, keys);
            readHead(v, kvHead, values);
            loadedHead = kvHead;
        }

        private void readHead(Tensor t, int kvHead, float[] dst) {
            int d = shape.d;
            long bytes = t.dtype().byteSize();
            long base = (t.offset() + kvHead * t.stride(1)) * bytes;
            long rowStride = t.stride(0) * bytes;
            if (t.dtype() == DType.F32 && rowStride == 4L * d) {
                MemorySegment.copy(t.segment(), F32, base, dst, 0, shape.s * d);
            } else {
                for (int j = 0; j < shape.s; j++) {
                    HalfPrecisionVectors.convertRow(t.dtype(), t.segment(), base + j * rowStride, dst, j * d, d);
                }
            }
        }

        /**
         * Rows firstRow.. of kv head kvHead, up to {@link #ROW_BLOCK} of them. Rows of heads that do
         * not run are zeroed (and captured as zero) and left out of the batches; with every head
         * running the batches are exactly those of an unmasked call.
         */
        void run(int kvHead, int firstRow) {
            int last = Math.min(shape.t * group, firstRow + ROW_BLOCK);
            int count = 0;
            for (int r = firstRow; r < last; r++) {
                int head = kvHead * group + r % group;
                if (activeHeads == null || activeHeads[head]) {
                    blockRows[count++] = r;
                } else {
                    skip(r / group, head);
                }
            }
            if (columnSums != null) {
                Arrays.fill(columnSums, 0f);
            }
            if (count > 0) {
                load(kvHead);
            }
            for (int i0 = 0; i0 < count; i0 += BATCH) {
                int n = Math.min(BATCH, count - i0);
                int maxVisible = 0;
                int minVisible = shape.s;
                for (int b = 0; b < BATCH; b++) {
                    int r = blockRows[i0 + Math.min(b, n - 1)];
                    int t = r / group;
                    queryOf[b] = t;
                    headOf[b] = kvHead * group + r % group;
                    visible[b] = queryStart < 0 ? shape.s : Math.min(shape.s, queryStart + t + 1);
                    maxVisible = Math.max(maxVisible, visible[b]);
                    minVisible = Math.min(minVisible, visible[b]);
                    Rows.read(q, q.offset() + t * q.stride(0) + headOf[b] * q.stride(1), q.stride(2), shape.d,
                            query, b * shape.d);
                }
                scores(minVisible);
                for (int b = 0; b < n; b++) {
                    softmax(b * shape.s, visible[b], maxVisible);
                    capture.rows(headOf[b], queryOf[b], probs, b * shape.s, visible[b]);
                    if (columnSums != null) {
                        addInto(columnSums, (headOf[b] - kvHead * group) * shape.s, probs, b * shape.s, visible[b]);
                    }
                }
                for (int b = n; b < BATCH; b++) {
                    Arrays.fill(probs, b * shape.s, b * shape.s + maxVisible, 0f);
                }
                output(n, maxVisible);
            }
            if (columnSums != null) {
                capture.addColumnSums(kvHead * group, group, columnSums);
            }
        }

        /** A row of a head that does not run: zero output, zero captured probabilities. */
        private void skip(int t, int head) {
            long offset = out.byteOffset() + ((long) t * shape.hq + head) * shape.d * 4;
            out.segment().asSlice(offset, (long) shape.d * 4).fill((byte) 0);
            capture.rows(head, t, probs, 0, 0);
        }

        /** Scaled scores of the batch's rows against every key each may see. */
        private void scores(int minVisible) {
            int d = shape.d;
            int s = shape.s;
            int bound = SPECIES.loopBound(d);
            for (int j = 0; j < minVisible; j++) {
                int ko = j * d;
                FloatVector s0 = FloatVector.zero(SPECIES);
                FloatVector s1 = FloatVector.zero(SPECIES);
                FloatVector s2 = FloatVector.zero(SPECIES);
                FloatVector s3 = FloatVector.zero(SPECIES);
                for (int c = 0; c < bound; c += SPECIES.length()) {
                    FloatVector kv = FloatVector.fromArray(SPECIES, keys, ko + c);
                    s0 = FloatVector.fromArray(SPECIES, query, c).fma(kv, s0);
                    s1 = FloatVector.fromArray(SPECIES, query, d + c).fma(kv, s1);
                    s2 = FloatVector.fromArray(SPECIES, query, 2 * d + c).fma(kv, s2);
                    s3 = FloatVector.fromArray(SPECIES, query, 3 * d + c).fma(kv, s3);
                }
                float t0 = Lanes.sum(s0);
                float t1 = Lanes.sum(s1);
                float t2 = Lanes.sum(s2);
                float t3 = Lanes.sum(s3);
                for (int c = bound; c < d; c++) {
                    float kc = keys[ko + c];
                    t0 += query[c] * kc;
                    t1 += query[d + c] * kc;
                    t2 += query[2 * d + c] * kc;
                    t3 += query[3 * d + c] * kc;
                }
                probs[j] = t0 * scale;
                probs[s + j] = t1 * scale;
                probs[2 * s + j] = t2 * scale;
                probs[3 * s + j] = t3 * scale;
            }
            for (int b = 0; b < BATCH; b++) {
                for (int j = minVisible; j < visible[b]; j++) {
                    probs[b * s + j] = dot(query, b * d, keys, j * d, d) * scale;
                }
            }
        }

        /**
         * Turns the scores at probs[from, from + n) into probabilities, exactly normalised, and
         * zeroes probs[from + n, from + upTo).
         */
        private void softmax(int from, int n, int upTo) {
            int bound = from + SPECIES.loopBound(n);
            int end = from + n;
            float max = Float.NEGATIVE_INFINITY;
            int i = from;
            if (bound > from) {
                FloatVector m = FloatVector.fromArray(SPECIES, probs, i);
                for (i += SPECIES.length(); i < bound; i += SPECIES.length()) {
                    m = m.max(FloatVector.fromArray(SPECIES, probs, i));
                }
                max = m.reduceLanes(VectorOperators.MAX);
            }
            for (; i < end; i++) {
                max = Math.max(max, probs[i]);
            }
            FloatVector sums = FloatVector.zero(SPECIES);
            for (i = from; i < bound; i += SPECIES.length()) {
                FloatVector e = Transcendentals.exp(FloatVector.fromArray(SPECIES, probs, i).sub(max));
                e.intoArray(probs, i);
                sums = sums.add(e);
            }
            float sum = Lanes.sum(sums);
            for (; i < end; i++) {
                float e = Transcendentals.exp(probs[i] - max);
                probs[i] = e;
                sum += e;
            }
            for (i = from; i < bound; i += SPECIES.length()) {
                FloatVector.fromArray(SPECIES, probs, i).div(sum).intoArray(probs, i);
            }
            for (; i < end; i++) {
                probs[i] /= sum;
            }
            Arrays.fill(probs, end, from + upTo, 0f);
        }

        /** out rows of the batch's first n rows: probabilities times values over keys [0, keys). */
        private void output(int n, int keys) {
            int d = shape.d;
            int s = shape.s;
            MemorySegment os = out.segment();
            int bound = SPECIES.loopBound(d);
            for (int c = 0; c < bound; c += SPECIES.length()) {
                FloatVector a0 = FloatVector.zero(SPECIES);
                FloatVector a1 = FloatVector.zero(SPECIES);
                FloatVector a2 = FloatVector.zero(SPECIES);
                FloatVector a3 = FloatVector.zero(SPECIES);
                for (int j = 0, vo = c; j < keys; j++, vo += d) {
                    FloatVector vv = FloatVector.fromArray(SPECIES, values, vo);
                    a0 = vv.fma(FloatVector.broadcast(SPECIES, probs[j]), a0);
                    a1 = vv.fma(FloatVector.broadcast(SPECIES, probs[s + j]), a1);
                    a2 = vv.fma(FloatVector.broadcast(SPECIES, probs[2 * s + j]), a2);
                    a3 = vv.fma(FloatVector.broadcast(SPECIES, probs[3 * s + j]), a3);
                }
                a0.intoArray(outRows, c);
                a1.intoArray(outRows, d + c);
                a2.intoArray(outRows, 2 * d + c);
                a3.intoArray(outRows, 3 * d + c);
            }
            for (int c = bound; c < d; c++) {
                for (int b = 0; b < n; b++) {
                    float acc = 0f;
                    for (int j = 0, vo = c; j < keys; j++, vo += d) {
                        acc += probs[b * s + j] * values[vo];
                    }
                    outRows[b * d + c] = acc;
                }
            }
            for (int b = 0; b < n; b++) {
                MemorySegment.copy(outRows, b * d, os, F32, outOffset(b), d);
            }
        }

        /** Byte offset of batch row b's output. */
        private long outOffset(int b) {
            return out.byteOffset() + ((long) queryOf[b] * shape.hq + headOf[b]) * shape.d * 4;
        }
    }

    private static float dot(float[] x, int xOffset, float[] y, int yOffset, int n) {
        FloatVector sum = FloatVector.zero(SPECIES);
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            sum = FloatVector.fromArray(SPECIES, x, xOffset + i).fma(FloatVector.fromArray(SPECIES, y, yOffset + i), sum);
        }
        float s = Lanes.sum(sum);
        for (; i < n; i++) {
            s += x[xOffset + i] * y[yOffset + i];
        }
        return s;
    }

    /** acc[accOffset..] += x[xOffset..], n values. */
    private static void addInto(float[] acc, int accOffset, float[] x, int xOffset, int n) {
        int i = 0;
        for (int bound = SPECIES.loopBound(n); i < bound; i += SPECIES.length()) {
            FloatVector.fromArray(SPECIES, acc, accOffset + i).add(FloatVector.fromArray(SPECIES, x, xOffset + i))
                    .intoArray(acc, accOffset + i);
        }
        for (; i < n; i++) {
            acc[accOffset + i] += x[xOffset + i];
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

        /** Stores row t's probabilities (zero for masked keys), from probs[from..], if it was asked for. */
        void rows(int head, int t, float[] probs, int from, int visible) {
            if (slotsOfRow == null || slotsOfRow[t] == null) {
                return;
            }
            int captured = rowProbs.dim(1);
            for (int slot : slotsOfRow[t]) {
                long base = rowProbs.byteOffset() + ((long) head * captured + slot) * shape.s * 4;
                MemorySegment.copy(probs, from, rowProbs.segment(), F32, base, visible);
                rowProbs.segment().asSlice(base + visible * 4L, (long) (shape.s - visible) * 4).fill((byte) 0);
            }
        }

        /** Adds partial column sums of heads firstHead.. (one row of S per head) to the totals. */
        void addColumnSums(int firstHead, int heads, float[] partial) {
            synchronized (sums) {
                for (int i = 0; i < heads * shape.s; i++) {
                    sums[firstHead * shape.s + i] += partial[i];
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
