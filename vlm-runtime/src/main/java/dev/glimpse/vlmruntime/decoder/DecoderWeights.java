package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.CheckpointFormatException;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * All tensors of a decoder, memory-mapped from the checkpoint and checked against the config's
 * shapes when loaded ({@link #on} places them on a device backend). With {@code tie_word_embeddings}
 * the output projection is the embedding table itself, as HF's {@code tie_weights} makes it.
 *
 * @param embedTokens [vocab, hidden]
 * @param layers      one entry per decoder layer
 * @param finalNorm   [hidden]
 * @param lmHead      [vocab, hidden]
 */
public record DecoderWeights(Tensor embedTokens, List<LayerWeights> layers, Tensor finalNorm, Tensor lmHead) {

    /** Stacks q/k/v and gate/up on the device for one product each ({@code true} by default; read at {@link #on}). */
    public static final String FUSED_PROJECTIONS_PROPERTY = "glimpse.cuda.fusedProjections";

    public DecoderWeights {
        layers = List.copyOf(layers);
    }

    /** Reads the decoder of {@code config} from {@code checkpoint} under {@code names}. */
    public static DecoderWeights load(Checkpoint checkpoint, TextConfig config, WeightNames names) {
        Loader loader = new Loader(checkpoint, config);
        int hidden = config.hiddenSize();
        int qOut = config.numAttentionHeads() * config.headDim();
        int kvOut = config.numKeyValueHeads() * config.headDim();
        int inter = config.intermediateSize();
        Tensor embed = loader.weight(names.embedTokens(), config.vocabSize(), hidden);
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            layers.add(new LayerWeights(
                    loader.weight(names.layer(l, "input_layernorm.weight"), hidden),
                    loader.weight(names.layer(l, "self_attn.q_proj.weight"), qOut, hidden),
                    loader.bias(config.qkvBias(), names.layer(l, "self_attn.q_proj.bias"), qOut),
                    loader.weight(names.layer(l, "self_attn.k_proj.weight"), kvOut, hidden),
                    loader.bias(config.qkvBias(), names.layer(l, "self_attn.k_proj.bias"), kvOut),
                    loader.weight(names.layer(l, "self_attn.v_proj.weight"), kvOut, hidden),
                    loader.bias(config.qkvBias(), names.layer(l, "self_attn.v_proj.bias"), kvOut),
                    loader.weight(names.layer(l, "self_attn.o_proj.weight"), hidden, qOut),
                    loader.bias(config.outputBias(), names.layer(l, "self_attn.o_proj.bias"), hidden),
                    loader.weight(names.layer(l, "post_attention_layernorm.weight"), hidden),
                    loader.weight(names.layer(l, "mlp.gate_proj.weight"), inter, hidden),
                    loader.bias(config.mlpBias(), names.layer(l, "mlp.gate_proj.bias"), inter),
                    loader.weight(names.layer(l, "mlp.up_proj.weight"), inter, hidden),
                    loader.bias(config.mlpBias(), names.layer(l, "mlp.up_proj.bias"), inter),
                    loader.weight(names.layer(l, "mlp.down_proj.weight"), hidden, inter),
                    loader.bias(config.mlpBias(), names.layer(l, "mlp.down_proj.bias"), hidden)));
        }
        Tensor norm = loader.weight(names.finalNorm(), hidden);
        Tensor lmHead = config.tieWordEmbeddings() ? embed : loader.weight(names.lmHead(), config.vocabSize(), hidden);
        return new DecoderWeights(embed, layers, norm, lmHead);
    }

    /**
     * These weights where {@code store}'s backend computes: this record on a host backend, else
     * device copies uploaded once by the store (a tied {@code lm_head} stays the embedding's copy).
     * On a device, with {@value #FUSED_PROJECTIONS_PROPERTY} on (the default), each layer's q/k/v
     * and gate/up are uploaded as one concatenation each and prefill runs them as stacked products
     * ({@link LayerWeights#stacks}); false uploads them separately and keeps one product each.
     */
    public DecoderWeights on(ResidentWeights store) {
        if (store.isHost()) {
            return this;
        }
        boolean stack = fusedProjectionsEnabled();
        return new DecoderWeights(store.place(embedTokens), layers.stream().map(l -> l.on(store, stack)).toList(),
                store.place(finalNorm), store.place(lmHead));
    }

    /** Bytes of all distinct weight tensors (the tied head counted once): what one decode step streams. */
    public long byteSize() {
        long bytes = size(embedTokens) + size(finalNorm) + (lmHead == embedTokens ? 0 : size(lmHead));
        for (LayerWeights w : layers) {
            for (Tensor t : new Tensor[] {w.inputNorm(), w.q(), w.qBias(), w.k(), w.kBias(), w.v(), w.vBias(), w.o(),
                    w.oBias(), w.postAttentionNorm(), w.gate(), w.gateBias(), w.up(), w.upBias(), w.down(), w.downBias()}) {
                bytes += size(t);
            }
        }
        return bytes;
    }

    static boolean fusedProjectionsEnabled() {
        return BooleanProperty.read(FUSED_PROJECTIONS_PROPERTY, true);
    }

    private static long size(Tensor t) {
        return t == null ? 0 : t.numel() * t.dtype().byteSize();
    }

    private record Loader(Checkpoint checkpoint, TextConfig config) {

        Tensor weight(String name, int... shape) {
            Tensor t = checkpoint.tensor(name);
            if (!Arrays.equals(t.shape(), shape)) {
                throw new CheckpointFormatException(checkpoint.folder() + ": tensor '" + name + "' has shape "
                        + Arrays.toString(t.shape()) + " but config.json (" + config.modelType() + ", hidden "
                        + config.hiddenSize() + ", heads " + config.numAttentionHeads() + "/" + config.numKeyValueHeads()
                        + ", head_dim " + config.headDim() + ") implies " + Arrays.toString(shape));
            }
            if (!t.dtype().isFloatingPoint()) {
                throw new CheckpointFormatException(checkpoint.folder() + ": tensor '" + name + "' is " + t.dtype()
                        + "; decoder weights must be F32, F16 or BF16");
            }
            return t;
        }

        Tensor bias(boolean present, String name, int size) {
            return present ? weight(name, size) : null;
        }
    }
}
