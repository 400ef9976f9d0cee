package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.global.cudart;

/**
 * A captured and instantiated CUDA graph of work queued on the backend's stream (e.g. one decode
 * step: hundreds of kernels replayed with one {@code cudaGraphLaunch}). Values that change
 * between replays must be read by its kernels from device memory ({@link StepInputs}). Made by
 * {@link CudaBackend#capture}; replayed with {@link CudaBackend#launch(StepGraph)}.
 */
public final class StepGraph implements AutoCloseable {

    private final CUgraph_st graph;
    private final CUgraphExec_st exec;
    private final CUevent_st done = new CUevent_st();
    private boolean launched;

    StepGraph(CUgraph_st graph, CUgraphExec_st exec) {
        this.graph = graph;
        this.exec = exec;
        Cuda.check(cudart.cudaEventCreateWithFlags(done, cudart.cudaEventDisableTiming), "cudaEventCreateWithFlags");
    }

    void launch(CudaContext ctx) {
        Cuda.check(cudart.cudaGraphLaunch(exec, ctx.stream), "cudaGraphLaunch");
        Cuda.check(cudart.cudaEventRecord(done, ctx.stream), "cudaEventRecord");
        launched = true;
    }

    /**
     * Waits until the last replay has finished (returns at once when the caller already waited for
     * its results), so the host may overwrite the {@link StepInputs} it reads.
     */
    public void awaitLastLaunch() {
        if (launched) {
            Cuda.check(cudart.cudaEventSynchronize(done), "cudaEventSynchronize");
        }
    }

    @Override
    public void close() {
        awaitLastLaunch();
        cudart.cudaEventDestroy(done);
        cudart.cudaGraphExecDestroy(exec);
        cudart.cudaGraphDestroy(graph);
    }
}
