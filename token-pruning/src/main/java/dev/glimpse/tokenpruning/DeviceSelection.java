package dev.glimpse.tokenpruning;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;

/**
 * A frame's selection left where the backend computed it: the kept token indices (ascending, raster
 * order) and the scores they were ranked by, both still on the backend's device, so that a model
 * can gather the kept feature rows there ({@link Backend#gatherRows(Tensor, Tensor, Tensor)})
 * without the host waiting for the vision tower. {@link #readBack} makes the host
 * {@link TokenSelection} (for the trace and decoder stages) once the host may wait. Owns its
 * tensors: {@link #close} frees them.
 */
public final class DeviceSelection implements AutoCloseable {

    private final int frame;
    private final TokenGrid grid;
    private final TopK top;
    private final Tensor scores;

    /**
     * @param top    the backend's top-k of {@code scores} in {@link TopK.Order#BY_INDEX} order, one row
     * @param scores F32 [1, grid.size()]
     */
    DeviceSelection(int frame, TokenGrid grid, TopK top, Tensor scores) {
        this.frame = frame;
        this.grid = grid;
        this.top = top;
        this.scores = scores;
    }

    /** The kept token indices, I32 [count] on the backend, ascending; a view owned by this selection. */
    public Tensor kept() {
        return top.indices().select(0, 0);
    }

    /** How many tokens are kept (known on the host without reading anything back). */
    public int count() {
        return top.indices().dim(1);
    }

    /** The selection on the host: kept indices and scores read back (the host waits for the device here). */
    public TokenSelection readBack(Backend backend) {
        return new TokenSelection(frame, grid, HostTensors.ints(backend, top.indices()),
                HostTensors.values(backend, scores));
    }

    @Override
    public void close() {
        top.close();
        scores.close();
    }
}
