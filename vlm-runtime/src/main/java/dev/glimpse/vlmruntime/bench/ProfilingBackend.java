package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionCapture;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.AttentionPrecision;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Device;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

/**
 * A {@link Backend} that forwards every call to another and adds up wall time and calls per
 * operation, for benchmark breakdowns. {@code linear} is keyed by its weight shape, so a decode
 * step shows which projections dominate, and {@code attention} by its heads and head dim, so a
 * vision tower's and a decoder's show apart. On a GPU, where operations only queue work, give a
 * {@code settle} that waits for the device (e.g. {@code CudaBackend::synchronize}): each
 * operation's time then includes its kernels (and one host wait). Single-threaded callers only.
 */
final class ProfilingBackend implements Backend {

    /** Accumulated time and calls of one operation. */
    record Cost(long nanos, long calls) {
    }

    private final Backend inner;
    private final Runnable settle;
    private final Map<String, Cost> costs = new TreeMap<>();

    ProfilingBackend(Backend inner) {
        this(inner, () -> { });
    }

    /** Times each operation until {@code settle} returns after it (the device idle, on a GPU). */
    ProfilingBackend(Backend inner, Runnable settle) {
        this.inner = inner;
        this.settle = settle;
    }

    /** Costs so far by operation, then clears them. */
    Map<String, Cost> drain() {
        Map<String, Cost> copy = new TreeMap<>(costs);
        costs.clear();
        return copy;
    }

    private void time(String op, Runnable body) {
        long start = System.nanoTime();
        body.run();
        settle.run();
        record(op, System.nanoTime() - start);
    }

    private <T> T time(String op, Supplier<T> body) {
        long start = System.nanoTime();
        T result = body.get();
        settle.run();
        record(op, System.nanoTime() - start);
        return result;
    }

    private void record(String op, long nanos) {
        costs.merge(op, new Cost(nanos, 1), (a, b) -> new Cost(a.nanos + b.nanos, a.calls + b.calls));
    }

    @Override
    public String name() {
        return inner.name();
    }

    @Override
    public Device device() {
        return inner.device();
    }

    @Override
    public boolean halfActivationsForGemm(int rows) {
        return inner.halfActivationsForGemm(rows);
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return time("allocate", () -> inner.allocate(dtype, shape));
    }

    @Override
    public Tensor upload(Tensor host) {
        return time("upload", () -> inner.upload(host));
    }

    @Override
    public Tensor download(Tensor tensor) {
        return time("download", () -> inner.download(tensor));
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        time("copy", () -> inner.copy(src, dst));
    }

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        time("linear " + w.dim(0) + "x" + w.dim(1) + " " + w.dtype(), () -> inner.linear(x, w, bias, out));
    }

    @Override
    public void batchedMatmul(Tensor a, Tensor bm, boolean transposeB, float alpha, Tensor out) {
        time("batchedMatmul", () -> inner.batchedMatmul(a, bm, transposeB, alpha, out));
    }

    @Override
    public void linearActivation(Activation f, Tensor x, Tensor w, Tensor bias, Tensor out) {
        time("linear+" + f + " " + w.dim(0) + "x" + w.dim(1) + " " + w.dtype(),
                () -> inner.linearActivation(f, x, w, bias, out));
    }

    @Override
    public void linearAddResidual(Tensor x, Tensor w, Tensor bias, Tensor residual, Tensor out) {
        time("linear+residual " + w.dim(0) + "x" + w.dim(1) + " " + w.dtype(),
                () -> inner.linearAddResidual(x, w, bias, residual, out));
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        time("add", () -> inner.add(a, b, out));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        time("mul", () -> inner.mul(a, b, out));
    }

    @Override
    public void scale(Tensor a, float s, Tensor out) {
        time("scale", () -> inner.scale(a, s, out));
    }

    @Override
    public void activation(Activation f, Tensor x, Tensor out) {
        time("activation", () -> inner.activation(f, x, out));
    }

    @Override
    public void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out) {
        time("gatedActivation", () -> inner.gatedActivation(f, gate, up, out));
    }

    @Override
    public void softmax(Tensor x, Tensor out) {
        time("softmax", () -> inner.softmax(x, out));
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        time("layerNorm", () -> inner.layerNorm(x, gamma, beta, eps, out));
    }

    @Override
    public void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        time("rmsNorm", () -> inner.rmsNorm(x, gamma, eps, out));
    }

    @Override
    public void l2Norm(Tensor x, Tensor out) {
        time("l2Norm", () -> inner.l2Norm(x, out));
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        time("rope", () -> inner.rope(x, cos, sin, out));
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                          AttentionCapture capture, boolean[] activeHeads, AttentionPrecision precision) {
        time("attention Hq=" + q.dim(q.rank() - 2) + " D=" + q.dim(q.rank() - 1) + " " + precision,
                () -> inner.attention(q, k, v, mask, scale, out, capture, activeHeads, precision));
    }

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        time("embedding", () -> inner.embedding(table, ids, out));
    }

    @Override
    public void gatherRows(Tensor x, int[] rows, Tensor out) {
        time("gatherRows", () -> inner.gatherRows(x, rows, out));
    }

    @Override
    public void gatherRows(Tensor x, Tensor rows, Tensor out) {
        time("gatherRows", () -> inner.gatherRows(x, rows, out));
    }

    @Override
    public void concat(int axis, List<Tensor> parts, Tensor out) {
        time("concat", () -> inner.concat(axis, parts, out));
    }

    @Override
    public int[] argmax(Tensor x) {
        return time("argmax", () -> inner.argmax(x));
    }

    @Override
    public void attentionRowScores(List<Tensor> rows, int first, Tensor out) {
        time("attentionRowScores", () -> inner.attentionRowScores(rows, first, out));
    }

    @Override
    public TopK topK(Tensor scores, int k, TopK.Order order) {
        return time("topK", () -> inner.topK(scores, k, order));
    }

    @Override
    public void close() {
        inner.close();
    }
}
