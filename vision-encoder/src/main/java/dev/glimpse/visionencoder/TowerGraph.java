package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.StepGraph;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * One forward pass of the vision tower captured as a CUDA graph, with the device memory it reads
 * and writes: a fixed pixel buffer, the pass's {@link ForwardScratch} and the tensors it hands out
 * (features, taps, pooled, ...), all allocated before the capture and kept while the graph lives.
 * Temporaries of the operations are allocated and freed inside the capture and become graph
 * memory nodes. {@link #replay} copies the caller's pixels into the buffer (outside the graph),
 * launches the graph and copies every output into fresh tensors that the returned
 * {@link VisionOutput} owns, so callers close their results exactly as after an eager pass, and a
 * later replay never overwrites results still held. Under {@code -Dglimpse.cuda.vtcFused=true}
 * ({@link CudaBackend#vtcFusedEnabled}, read at capture; the graphs are keyed by it) the outputs are views
 * of one {@link OutputBlock}, and a replay copies them with one allocation and one copy.
 */
final class TowerGraph implements AutoCloseable {

    private final CudaBackend cuda;
    private final Tensor pixels;
    private final ForwardScratch scratch;
    private final List<Tensor> outputs;
    /** The outputs' one allocation and its layout, or null when each output is its own. */
    private final Tensor block;
    private final OutputBlock layout;
    private final VisionTransformer.Run run;
    private final StepGraph graph;
    private boolean closed;

    private TowerGraph(CudaBackend cuda, Tensor pixels, ForwardScratch scratch, List<Tensor> outputs, Tensor block,
                       OutputBlock layout, VisionTransformer.Run run, StepGraph graph) {
        this.cuda = cuda;
        this.pixels = pixels;
        this.scratch = scratch;
        this.outputs = outputs;
        this.block = block;
        this.layout = layout;
        this.run = run;
        this.graph = graph;
    }

    /**
     * Captures {@code tower}'s pass of {@code plan} over pixels of {@code pixelShape}; its outputs
     * get the shapes an eager pass of the same plan allocated, in that order ({@code outputShapes}).
     * Nothing runs yet. On failure every buffer is freed and the exception (a CudaException from
     * the capture, or an IllegalStateException when the pass asked for other outputs) propagates.
     */
    static TowerGraph capture(CudaBackend cuda, VisionTransformer tower, VisionTransformer.Plan plan, int[] pixelShape,
                              List<int[]> outputShapes) {
        List<AutoCloseable> held = new ArrayList<>();
        try {
            Tensor pixels = cuda.allocate(DType.F32, pixelShape);
            held.add(pixels);
            ForwardScratch scratch = tower.newScratch(pixelShape[0], plan);
            held.add(scratch);
            List<Tensor> outputs = new ArrayList<>();
            OutputBlock layout = CudaBackend.vtcFusedEnabled() ? new OutputBlock(outputShapes) : null;
            Tensor block = null;
            if (layout != null) {
                block = layout.allocate(cuda);
                held.add(block);
                outputs.addAll(layout.views(block));
            } else {
                for (int[] shape : outputShapes) {
                    Tensor t = cuda.allocate(DType.F32, shape);
                    held.add(t);
                    outputs.add(t);
                }
            }
            Preallocated source = new Preallocated(outputs);
            VisionTransformer.Run[] run = new VisionTransformer.Run[1];
            StepGraph graph = cuda.capture(() -> run[0] = tower.forward(plan, scratch, source, pixels));
            held.add(graph);
            source.requireAllTaken();
            return new TowerGraph(cuda, pixels, scratch, List.copyOf(outputs), block, layout, run[0], graph);
        } catch (RuntimeException | Error e) {
            closeAll(held, e);
            throw e;
        }
    }

    /**
     * Runs the captured pass on {@code input} [batch, C, H, W] (any device, any strides) and returns
     * copies of its outputs; null when this graph was closed meanwhile (the caller runs eagerly).
     * Queues everything and returns without waiting for the device.
     */
    synchronized VisionOutput replay(Tensor input) {
        if (closed) {
            return null;
        }
        cuda.copy(input, pixels);
        cuda.launch(graph);
        Map<Tensor, Tensor> copies = new IdentityHashMap<>();
        List<Tensor> owned = new ArrayList<>(outputs.size());
        try {
            if (layout != null) {
                Tensor copy = layout.allocate(cuda);
                owned.add(copy);
                cuda.copy(block, copy);
                List<Tensor> views = layout.views(copy);
                for (int i = 0; i < outputs.size(); i++) {
                    copies.put(outputs.get(i), views.get(i));
                }
            } else {
                for (Tensor t : outputs) {
                    Tensor copy = cuda.allocate(DType.F32, t.shape());
                    owned.add(copy);
                    cuda.copy(t, copy);
                    copies.put(t, copy);
                }
            }
            UnaryOperator<Tensor> relocate = t -> {
                Tensor copy = copies.get(t);
                if (copy == null) {
                    throw new IllegalStateException("a replayed vision pass handed out " + t
                            + ", which is not one of its captured outputs");
                }
                return copy;
            };
            Tensor features = run.features();
            return new VisionOutput(run.images(relocate), features == null ? null : relocate.apply(features), owned);
        } catch (RuntimeException | Error e) {
            owned.forEach(Tensor::close);
            throw e;
        }
    }

    /**
     * Bytes of the buffers this graph keeps between replays (pixels, scratch, outputs); the
     * temporaries inside the graph come from CUDA's graph memory pool on top of these.
     */
    long bytes() {
        long b = scratch.bytes() + pixels.numel() * pixels.dtype().byteSize();
        if (layout != null) {
            return b + layout.bytes();
        }
        for (Tensor t : outputs) {
            b += t.numel() * t.dtype().byteSize();
        }
        return b;
    }

    /** Waits for the last replay, then frees the graph and its buffers. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<AutoCloseable> held = new ArrayList<>();
        held.add(graph);
        if (block != null) {
            held.add(block);
        } else {
            held.addAll(outputs);
        }
        held.add(scratch);
        held.add(pixels);
        RuntimeException failure = closeAll(held, null);
        if (failure != null) {
            throw failure;
        }
    }

    /** Closes each of {@code held}, last first; failures are added to {@code primary} or returned. */
    private static RuntimeException closeAll(List<AutoCloseable> held, Throwable primary) {
        RuntimeException failure = null;
        for (int i = held.size() - 1; i >= 0; i--) {
            try {
                held.get(i).close();
            } catch (Exception e) {
                if (primary != null) {
                    primary.addSuppressed(e);
                } else if (failure == null) {
                    failure = e instanceof RuntimeException r ? r : new IllegalStateException(e.getMessage(), e);
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        return failure;
    }

    /**
     * The outputs of a captured pass: tensors allocated before the capture, handed out in the order
     * the eager pass allocated its own, each checked against the shape asked for (a mismatch is a
     * bug, and fails the capture rather than computing into the wrong buffer).
     */
    private static final class Preallocated implements VisionTransformer.OutputTensors {
        private final List<Tensor> tensors;
        private int next;

        Preallocated(List<Tensor> tensors) {
            this.tensors = tensors;
        }

        @Override
        public Tensor allocate(int... shape) {
            if (next >= tensors.size()) {
                throw new IllegalStateException("the captured vision pass asked for output " + (next + 1) + " "
                        + Arrays.toString(shape) + " but its eager pass allocated " + tensors.size());
            }
            Tensor t = tensors.get(next);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new IllegalStateException("the captured vision pass asked for output " + (next + 1) + " as "
                        + Arrays.toString(shape) + " but its eager pass allocated " + Arrays.toString(t.shape()));
            }
            next++;
            return t;
        }

        void requireAllTaken() {
            if (next != tensors.size()) {
                throw new IllegalStateException("the captured vision pass took " + next + " outputs but its eager pass"
                        + " allocated " + tensors.size());
            }
        }
    }
}
