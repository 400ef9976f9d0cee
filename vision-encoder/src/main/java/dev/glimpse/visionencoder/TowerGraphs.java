package dev.glimpse.visionencoder;

import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.Sizes;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaException;
import dev.glimpse.kernels.cuda.GraphCache;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The vision tower's forward passes replayed from CUDA graphs: on a slow host the tower's few
 * hundred operations (GEMMs, kernel launches, pool allocations) take longer to issue than the GPU
 * takes to run them, and one graph launch issues them all. Per {@link TowerGraphKey} (request,
 * batch, launch settings) the first call runs eagerly, which loads kernels, creates cuBLASLt plans
 * and the workspace and notes the shapes of the tensors the pass hands out; the second captures a
 * {@link TowerGraph} and replays it; later calls replay. At most {@value #CAPACITY} graphs are
 * held, least recently used out. Nothing inside a pass reads host memory: the pixels are copied
 * into the graph's buffer before the launch, and [CLS] and probe attention rows are computed by
 * {@link QueryAttentionRow} (device operations) instead of a row capture with host indices.
 * Requests with a pruning hook (host decisions between blocks) run eagerly, as does every call
 * with {@code -Dglimpse.cuda.visionGraphs=false} (read at every call; then the rows come from the
 * attention call's capture, as before graphs).
 * A capture (or a replay) that fails is logged once at warn and its key runs eagerly from then on,
 * its graph freed; the stream stays usable ({@link CudaBackend#capture} ends the capture).
 */
final class TowerGraphs implements AutoCloseable {

    /** System property: {@code false} runs every pass op by op (default {@code true}). */
    static final String PROPERTY = "glimpse.cuda.visionGraphs";
    /** Graphs held per tower: a model sees a few request shapes (features, features with taps, a batch size or two). */
    static final int CAPACITY = 4;
    /**
     * System property: bytes the held graphs' buffers may take together (e.g. {@code 512m},
     * {@code 4g}; default {@value #DEFAULT_MAX_BYTES_TEXT}). A 32-frame SigLIP so400m pass keeps about
     * 1.6 GiB; an image pass of CLIP ViT-L/14-336 tens of megabytes.
     */
    static final String MAX_BYTES_PROPERTY = "glimpse.cuda.visionGraphs.maxBytes";
    static final String DEFAULT_MAX_BYTES_TEXT = "2g";
    private static final int KEYS_REMEMBERED = 64;

    private static final Logger LOG = LoggerFactory.getLogger(TowerGraphs.class);

    private final CudaBackend cuda;
    private final VisionTransformer tower;
    private final GraphCache<TowerGraphKey, List<int[]>, TowerGraph> cache =
            new GraphCache<>(CAPACITY, maxBytes(), KEYS_REMEMBERED, TowerGraph::bytes);
    private final AtomicInteger captures = new AtomicInteger();
    private final AtomicInteger replays = new AtomicInteger();

    TowerGraphs(CudaBackend cuda, VisionTransformer tower) {
        this.cuda = cuda;
        this.tower = tower;
    }

    /** The byte limit of the held graphs: {@value #MAX_BYTES_PROPERTY}, else {@value #DEFAULT_MAX_BYTES_TEXT}. */
    static long maxBytes() {
        String value = System.getProperty(MAX_BYTES_PROPERTY, DEFAULT_MAX_BYTES_TEXT).trim();
        long bytes = Sizes.parseBytes(value, "-D" + MAX_BYTES_PROPERTY);
        if (bytes < 1) {
            throw new IllegalArgumentException("-D" + MAX_BYTES_PROPERTY + " must be at least one byte, got '" + value + "'");
        }
        return bytes;
    }

    /** True unless {@code -Dglimpse.cuda.visionGraphs=false}. */
    static boolean enabled() {
        return BooleanProperty.read(PROPERTY, true);
    }

    /** {@link VisionTransformer#encode} of a request without a pruning hook: eager, captured or replayed. */
    VisionOutput encode(Tensor pixels, VisionTransformer.Plan plan) {
        TowerGraphKey key = TowerGraphKey.of(plan.request(), pixels.dim(0));
        GraphCache.Decision<List<int[]>, TowerGraph> decision = cache.next(key);
        TowerGraph graph = decision.entry();
        switch (decision.kind()) {
            case EAGER -> {
                return tower.encodeEagerly(pixels, plan, null);
            }
            case FIRST -> {
                List<int[]> shapes = new ArrayList<>();
                VisionOutput out = tower.encodeEagerly(pixels, plan, shapes);
                cache.firstCallDone(key, shapes);
                return out;
            }
            case CAPTURE -> {
                try {
                    graph = TowerGraph.capture(cuda, tower, plan, pixels.shape(), decision.firstCall());
                } catch (RuntimeException e) {
                    LOG.warn("vision tower passes of batch {} run op by op: capturing one as a CUDA graph failed ({})",
                            key.batch(), e.getMessage());
                    cache.keepEager(key);
                    return tower.encodeEagerly(pixels, plan, null);
                }
                captures.incrementAndGet();
                long bytes = graph.bytes();
                if (!cache.captured(key, graph)) {
                    LOG.info("vision tower passes of batch {} run op by op: their CUDA graph keeps {} MiB, more than "
                            + "-D{} allows", key.batch(), bytes >> 20, MAX_BYTES_PROPERTY);
                    return tower.encodeEagerly(pixels, plan, null);
                }
                LOG.debug("vision tower: captured a CUDA graph for batch {} ({} graphs held, {} MiB)", key.batch(),
                        cache.size(), cache.bytes() >> 20);
            }
            case REPLAY -> {
            }
        }
        VisionOutput out;
        try {
            out = graph.replay(pixels);
        } catch (CudaException e) {
            LOG.warn("vision tower passes of batch {} run op by op: replaying their CUDA graph failed ({})", key.batch(),
                    e.getMessage());
            closeQuietly(key, e);
            return tower.encodeEagerly(pixels, plan, null);
        }
        if (out == null) {
            return tower.encodeEagerly(pixels, plan, null);
        }
        replays.incrementAndGet();
        return out;
    }

    /** Keeps {@code key} eager and frees its graph; a failure to free it is logged beside {@code cause}, not thrown. */
    private void closeQuietly(TowerGraphKey key, CudaException cause) {
        try {
            cache.keepEager(key);
        } catch (RuntimeException e) {
            LOG.warn("freeing the failed vision graph failed too ({}) after: {}", e.getMessage(), cause.getMessage());
        }
    }

    /** Graphs captured so far (for tests and logs). */
    int captures() {
        return captures.get();
    }

    /** Passes replayed from a graph so far, the capturing call's included. */
    int replays() {
        return replays.get();
    }

    /** Frees every graph and its buffers; later calls start again from an eager call. */
    @Override
    public void close() {
        cache.close();
    }
}
