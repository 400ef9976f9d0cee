package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.CheckpointException;
import dev.glimpse.kernels.io.CheckpointFormatException;
import dev.glimpse.vlmruntime.config.LlavaConfig;

import java.util.Arrays;
import java.util.List;

/**
 * The multimodal projector of LLaVA and LLaVA-OneVision, {@code LlavaMultiModalProjector}
 * ({@code modeling_llava.py}): {@code linear_2(act(linear_1(features)))} with
 * {@code act = ACT2FN[projector_hidden_act]} and biases when {@code multimodal_projector_bias}.
 * {@code linear_1} maps {@code vision hidden * len(vision_feature_layer)} to the text hidden size,
 * {@code linear_2} keeps it. Weights live under {@code multi_modal_projector.} (checkpoints saved by
 * 4.x and 5.x) or {@code model.multi_modal_projector.} (5.x in-memory names).
 */
public final class Projector {

    /** Prefixes tried in order. */
    public static final List<String> KNOWN_PREFIXES = List.of("multi_modal_projector.", "model.multi_modal_projector.");

    private final Backend backend;
    private final Activation activation;
    private final Tensor w1;
    private final Tensor b1;
    private final Tensor w2;
    private final Tensor b2;

    private Projector(Backend backend, Activation activation, Tensor w1, Tensor b1, Tensor w2, Tensor b2) {
        this.backend = backend;
        this.activation = activation;
        this.w1 = w1;
        this.b1 = b1;
        this.w2 = w2;
        this.b2 = b2;
    }

    /**
     * Maps the projector of {@code config} from {@code checkpoint}, checking shapes against the
     * config; {@code store} places the weights where its backend computes.
     */
    public static Projector load(ResidentWeights store, Checkpoint checkpoint, LlavaConfig config) {
        String prefix = KNOWN_PREFIXES.stream().filter(p -> checkpoint.has(p + "linear_1.weight")).findFirst()
                .orElseThrow(() -> new CheckpointException(checkpoint.folder() + ": no multimodal projector; looked for "
                        + KNOWN_PREFIXES.stream().map(p -> p + "linear_1.weight").toList()));
        int in = config.vision().hiddenSize() * config.visionFeatureLayers().size();
        int hidden = config.text().hiddenSize();
        boolean bias = config.multimodalProjectorBias();
        return new Projector(store.backend(), Activation.fromHfName(config.projectorHiddenAct()),
                store.place(weight(checkpoint, prefix + "linear_1.weight", hidden, in)),
                bias ? store.placeBias(weight(checkpoint, prefix + "linear_1.bias", hidden)) : null,
                store.place(weight(checkpoint, prefix + "linear_2.weight", hidden, hidden)),
                bias ? store.placeBias(weight(checkpoint, prefix + "linear_2.bias", hidden)) : null);
    }

    /** Input width: vision hidden size times the number of selected layers. */
    public int inputSize() {
        return w1.dim(1);
    }

    /** Output width: the text hidden size. */
    public int outputSize() {
        return w2.dim(0);
    }

    /** Projects {@code features} F32 [rows, inputSize] to a new F32 [rows, outputSize] owned by the caller. */
    public Tensor project(Tensor features) {
        if (features.rank() != 2 || features.dim(1) != inputSize()) {
            throw new IllegalArgumentException("projector takes F32 [rows, " + inputSize() + "], got " + features);
        }
        int rows = features.dim(0);
        Tensor out = backend.allocate(DType.F32, rows, outputSize());
        try (Tensor mid = backend.allocate(DType.F32, rows, outputSize())) {
            backend.linear(features, w1, b1, mid);
            backend.activation(activation, mid, mid);
            backend.linear(mid, w2, b2, out);
        } catch (RuntimeException | Error e) {
            out.close();
            throw e;
        }
        return out;
    }

    private static Tensor weight(Checkpoint checkpoint, String name, int... shape) {
        Tensor t = checkpoint.tensor(name);
        if (!Arrays.equals(t.shape(), shape) || !t.dtype().isFloatingPoint()) {
            throw new CheckpointFormatException(checkpoint.folder() + ": tensor '" + name + "' is " + t.dtype()
                    + Arrays.toString(t.shape()) + " but config.json implies a float tensor " + Arrays.toString(shape));
        }
        return t;
    }
}
