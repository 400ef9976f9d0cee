package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.StepGraph;

/**
 * One decoder prefill captured as a CUDA graph, with the inputs it reads: the hidden rows (the
 * embeddings, updated in place layer by layer) and the rotary cos/sin rows of the tokens'
 * positions, allocated before the capture and kept while the graph lives, so a replay's kernels
 * find this request's values where the capture's found its own. Everything else the graph touches
 * (KV cache, scratch, last normed row, logits) belongs to the {@link SessionBuffers} that hold this
 * graph; temporaries of the operations become graph memory nodes.
 */
final class PrefillGraph implements AutoCloseable {

    /** Writes one request's inputs into a graph's buffers: embeddings into hidden, rotary rows into cos and sin. */
    interface Inputs {
        void write(Tensor hidden, Tensor cos, Tensor sin);
    }

    /**
     * The prefill a graph holds: queues every layer over {@code hidden} [rows, hidden] with
     * {@code cos}, {@code sin} [rows, R/2] (and, unpadded, the logits of the last row), waiting on
     * nothing. Queuing it does host bookkeeping (cache lengths) that the caller sets right after
     * the graph ran, whether captured or replayed.
     */
    interface Work {
        void enqueue(Tensor hidden, Tensor cos, Tensor sin);
    }

    private final CudaBackend cuda;
    private final Tensor hidden;
    private final Tensor cos;
    private final Tensor sin;
    private final StepGraph graph;
    private boolean closed;

    private PrefillGraph(CudaBackend cuda, Tensor hidden, Tensor cos, Tensor sin, StepGraph graph) {
        this.cuda = cuda;
        this.hidden = hidden;
        this.cos = cos;
        this.sin = sin;
        this.graph = graph;
    }

    /**
     * Allocates the input buffers for {@code rows} tokens, writes {@code inputs} into them (queued
     * before the capture) and captures {@code work} over them. Nothing of the work runs yet: call
     * {@link #launch}. On failure the buffers are freed and the exception propagates (the stream's
     * capture is ended by {@link CudaBackend#capture}).
     */
    static PrefillGraph capture(CudaBackend cuda, int rows, int width, int halfRotary, Inputs inputs, Work work) {
        Tensor hidden = cuda.allocate(DType.F32, rows, width);
        Tensor cos = null;
        Tensor sin = null;
        try {
            cos = cuda.allocate(DType.F32, rows, halfRotary);
            sin = cuda.allocate(DType.F32, rows, halfRotary);
            inputs.write(hidden, cos, sin);
            Tensor c = cos;
            Tensor s = sin;
            StepGraph graph = cuda.capture(() -> work.enqueue(hidden, c, s));
            return new PrefillGraph(cuda, hidden, cos, sin, graph);
        } catch (RuntimeException | Error e) {
            hidden.close();
            if (cos != null) {
                cos.close();
            }
            if (sin != null) {
                sin.close();
            }
            throw e;
        }
    }

    /** Writes {@code inputs} into the graph's buffers, then replays it (both queued; no host wait). */
    void replay(Inputs inputs) {
        inputs.write(hidden, cos, sin);
        launch();
    }

    /** The hidden rows the graph reads its inputs from and leaves the last layer's output in. */
    Tensor hidden() {
        return hidden;
    }

    /** Replays the graph on the values its buffers hold. */
    void launch() {
        cuda.launch(graph);
    }

    /** Waits for the last replay, then frees the graph and its input buffers. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        graph.close();
        hidden.close();
        cos.close();
        sin.close();
    }
}
