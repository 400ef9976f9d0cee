package dev.glimpse.kernels.cpu;

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

/**
 * The CPU backend: multithreaded ({@link CpuParallel}) Vector API kernels, with OpenBLAS for
 * large F32 GEMMs where it measured faster. Each family of operations lives in its own class.
 */
public final class CpuBackend implements Backend {

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public Tensor allocate(DType dtype, int... shape) {
        return Tensor.allocate(dtype, shape);
    }

    @Override
    public Tensor upload(Tensor host) {
        return host;
    }

    @Override
    public Tensor download(Tensor tensor) {
        return tensor;
    }

    @Override
    public void copy(Tensor src, Tensor dst) {
        Indexing.copy(src, dst);
    }

    @Override
    public void linear(Tensor x, Tensor w, Tensor bias, Tensor out) {
        Gemm.linear(x, w, bias, out);
    }

    @Override
    public void batchedMatmul(Tensor a, Tensor bm, boolean transposeB, float alpha, Tensor out) {
        Gemm.batchedMatmul(a, bm, transposeB, alpha, out);
    }

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        Elementwise.add(a, b, out);
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        Elementwise.mul(a, b, out);
    }

    @Override
    public void scale(Tensor a, float s, Tensor out) {
        Elementwise.scale(a, s, out);
    }

    @Override
    public void activation(Activation f, Tensor x, Tensor out) {
        Elementwise.activation(f, x, out);
    }

    @Override
    public void gatedActivation(Activation f, Tensor gate, Tensor up, Tensor out) {
        Elementwise.gatedActivation(f, gate, up, out);
    }

    @Override
    public void softmax(Tensor x, Tensor out) {
        Normalization.softmax(x, out);
    }

    @Override
    public void layerNorm(Tensor x, Tensor gamma, Tensor beta, float eps, Tensor out) {
        Normalization.layerNorm(x, gamma, beta, eps, out);
    }

    @Override
    public void rmsNorm(Tensor x, Tensor gamma, float eps, Tensor out) {
        Normalization.rmsNorm(x, gamma, eps, out);
    }

    @Override
    public void l2Norm(Tensor x, Tensor out) {
        Normalization.l2Norm(x, out);
    }

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        Rope.apply(x, cos, sin, out);
    }

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, AttentionMask mask, float scale, Tensor out,
                          AttentionCapture capture, boolean[] activeHeads, AttentionPrecision precision) {
        Attention.compute(q, k, v, mask, scale, out, capture, activeHeads);
    }

    @Override
    public void embedding(Tensor table, int[] ids, Tensor out) {
        Indexing.embedding(table, ids, out);
    }

    @Override
    public void gatherRows(Tensor x, int[] rows, Tensor out) {
        Indexing.gatherRows(x, rows, out);
    }

    @Override
    public void attentionRowScores(List<Tensor> rows, int first, Tensor out) {
        AttentionRowScores.compute(rows, first, out);
    }

    @Override
    public void concat(int axis, List<Tensor> parts, Tensor out) {
        Indexing.concat(axis, parts, out);
    }

    @Override
    public int[] argmax(Tensor x) {
        return Indexing.argmax(x);
    }

    @Override
    public TopK topK(Tensor scores, int k, TopK.Order order) {
        return TopKSelect.topK(scores, k, order);
    }

    @Override
    public void close() {
        // the worker pool is shared by all CPU backends and lives as long as the JVM
    }
}
