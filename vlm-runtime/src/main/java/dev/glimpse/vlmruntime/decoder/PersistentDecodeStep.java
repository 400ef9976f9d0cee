package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaPersistentDecode;
import dev.glimpse.kernels.cuda.PersistentPhaseTimes;
import dev.glimpse.kernels.cuda.StepInputs;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A session's decode-step layers as one persistent kernel ({@link CudaPersistentDecode}, selected
 * by {@code -Dglimpse.cuda.decodeMegakernel=true}): the per-layer launches of
 * {@link DecoderLayer#forwardStep} give way to one launch that runs every layer, reading each
 * layer's cache slot and key count from the same {@link StepInputs} cells. It serves steps whose
 * layers share one position (no per-layer offsets after pruning) and run every head; other steps
 * keep the per-layer loop.
 */
final class PersistentDecodeStep implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PersistentDecodeStep.class);

    private final CudaPersistentDecode kernel;

    private PersistentDecodeStep(CudaPersistentDecode kernel) {
        this.kernel = kernel;
    }

    /**
     * The persistent step over the decoder's layers and the session's cache, updating {@code hidden}
     * in place from the rotary rows {@code cos}, {@code sin}; null when the property is off or the
     * decoder is outside the kernel's scope (logged at debug by the backend).
     */
    static PersistentDecodeStep create(CudaBackend backend, Decoder decoder, KvCache cache, StepInputs inputs,
                                       Tensor hidden, Tensor cos, Tensor sin) {
        if (!CudaPersistentDecode.enabled()) {
            return null;
        }
        TextConfig c = decoder.config();
        int n = c.numHiddenLayers();
        List<CudaPersistentDecode.Layer> layers = new ArrayList<>(n);
        for (int l = 0; l < n; l++) {
            LayerWeights w = decoder.weights().layers().get(l);
            layers.add(new CudaPersistentDecode.Layer(w.inputNorm(), w.q(), w.qBias(), w.k(), w.kBias(), w.v(), w.vBias(),
                    w.o(), w.oBias(), w.postAttentionNorm(), w.gate(), w.gateBias(), w.up(), w.upBias(), w.down(),
                    w.downBias(), cache.keyBlock(l), cache.valueBlock(l), inputs.cell(1 + n + l), inputs.cell(1 + 2 * n + l)));
        }
        CudaPersistentDecode.Shape shape = new CudaPersistentDecode.Shape(c.numAttentionHeads(), c.numKeyValueHeads(),
                c.headDim(), (float) c.rmsNormEps(), Activation.fromHfName(c.hiddenAct()));
        CudaPersistentDecode kernel = backend.persistentDecode(shape, layers, hidden, cos, sin);
        if (kernel == null) {
            return null;
        }
        LOG.debug("decode steps run their {} layers as one persistent kernel of {} blocks", n, kernel.grid());
        return new PersistentDecodeStep(kernel);
    }

    /** True when a step with these per-layer position offsets and head masks can run as the kernel. */
    static boolean covers(int[] offsets, boolean[][] activeHeads) {
        for (int l = 0; l < offsets.length; l++) {
            if (offsets[l] != offsets[0] || activeHeads[l] != null) {
                return false;
            }
        }
        return true;
    }

    /** Fills the rotary rows of every layer's position ({@code position}, I32 [1] on the device) and queues the kernel. */
    void enqueue(CudaBackend backend, RopeTables rope, Tensor position, Tensor cos, Tensor sin) {
        rope.fill(backend, position, cos, sin);
        kernel.enqueue();
    }

    /** The last launch's phase times when the kernel is the timed one, else empty; waits for the stream. */
    Optional<PersistentPhaseTimes> phaseTimes() {
        return kernel.timed() ? Optional.of(kernel.phaseTimes()) : Optional.empty();
    }

    @Override
    public void close() {
        kernel.close();
    }
}
