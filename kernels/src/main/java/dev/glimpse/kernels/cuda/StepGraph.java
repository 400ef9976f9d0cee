package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cudart.CUevent_st;
import org.bytedeco.cuda.cudart.CUgraphExec_st;
import org.bytedeco.cuda.cudart.CUgraph_st;
import org.bytedeco.cuda.global.cudart;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * A captured and instantiated CUDA graph of work queued on the backend's stream (e.g. one decode
 * step: hundreds of kernels replayed with one {@code cudaGraphLaunch}). Values that change
 * between replays must be read by its kernels from device memory ({@link StepInputs}). Made by
 * {@link CudaBackend#capture}; replayed with {@link CudaBackend#launch(StepGraph)}. Kernels
 * captured with programmatic dependent launch ({@link GridDependency}) become programmatic edges,
 * which {@link #programmaticEdges()} counts.
 */
public final class StepGraph implements AutoCloseable {

    /** CU_GRAPH_DEPENDENCY_TYPE_PROGRAMMATIC, the edge type of a programmatic dependency. */
    private static final byte PROGRAMMATIC = 1;
    /** Bytes of one CUgraphEdgeData (from_port, to_port, type, reserved[5]) and the offset of its type. */
    private static final long EDGE_DATA_BYTES = 8;
    private static final long EDGE_TYPE_OFFSET = 2;

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

    /**
     * The graph's edges of programmatic type: how many kernels may start before their predecessor
     * has finished. Zero when PDL is off or unsupported, or when capture dropped the attribute.
     * Reads the edges with the driver's {@code cuGraphGetEdges_v2} (the bindings' overload takes
     * one node per array).
     */
    public int programmaticEdges() {
        try (Arena arena = Arena.ofConfined()) {
            MethodHandle getEdges = Linker.nativeLinker().downcallHandle(
                    SymbolLookup.libraryLookup("libcuda.so.1", arena).findOrThrow("cuGraphGetEdges_v2"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS));
            MemorySegment handle = MemorySegment.ofAddress(graph.address());
            MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
            Cuda.checkDriver((int) getEdges.invokeExact(handle, MemorySegment.NULL, MemorySegment.NULL,
                    MemorySegment.NULL, count), "cuGraphGetEdges_v2(count)");
            long n = count.get(ValueLayout.JAVA_LONG, 0);
            if (n == 0) {
                return 0;
            }
            MemorySegment from = arena.allocate(ValueLayout.ADDRESS, n);
            MemorySegment to = arena.allocate(ValueLayout.ADDRESS, n);
            MemorySegment data = arena.allocate(EDGE_DATA_BYTES * n, 8);
            Cuda.checkDriver((int) getEdges.invokeExact(handle, from, to, data, count), "cuGraphGetEdges_v2");
            int programmatic = 0;
            for (long i = 0; i < count.get(ValueLayout.JAVA_LONG, 0); i++) {
                if (data.get(ValueLayout.JAVA_BYTE, i * EDGE_DATA_BYTES + EDGE_TYPE_OFFSET) == PROGRAMMATIC) {
                    programmatic++;
                }
            }
            return programmatic;
        } catch (CudaException e) {
            throw e;
        } catch (Throwable e) {
            throw new CudaException("counting the programmatic edges of a CUDA graph: " + e);
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
