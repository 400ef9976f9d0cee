package dev.glimpse.visionencoder;

import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.kernels.io.TensorNotFoundException;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The weights of a CLIP or SigLIP vision tower, resolved once by their Hugging Face names and
 * checked against the config. Every tensor is a zero-copy view of the memory-mapped checkpoint (or
 * of the caller's tensors); nothing is copied to the heap. The convolution weight of the patch
 * embedding ({@code [hidden, channels, p, p]}) is viewed as the {@code [hidden, channels*p*p]}
 * matrix of the equivalent linear map over flattened patches.
 *
 * <p>Names, relative to the tower's root, follow {@code CLIPVisionModel} / {@code SiglipVisionModel}
 * ({@code modeling_clip.py}, {@code modeling_siglip.py}): {@code embeddings.patch_embedding.weight}
 * (and {@code .bias} for SigLIP), {@code embeddings.class_embedding} (CLIP),
 * {@code embeddings.position_embedding.weight}, {@code pre_layrnorm.*} (CLIP),
 * {@code encoder.layers.N.{layer_norm1,self_attn.{q,k,v,out}_proj,layer_norm2,mlp.fc1,mlp.fc2}.*},
 * {@code post_layernorm.*} and SigLIP's {@code head.{probe,attention.in_proj_*,attention.out_proj.*,
 * layernorm.*,mlp.*}}. The root is what precedes them: {@code vision_model.} in checkpoints saved by
 * transformers 4.x, nothing in a standalone model saved by 5.x, and {@code vision_tower.} or
 * {@code model.vision_tower.} (each optionally followed by {@code vision_model.}) inside LLaVA.
 *
 * @param root the name prefix the weights were found under
 * @param head SigLIP's attention-pooling head; null when the tower has none
 */
public record VisionWeights(VisionConfig config, String origin, String root, EmbeddingWeights embeddings,
                            LayerNormWeights preLayerNorm, List<BlockWeights> layers, LayerNormWeights postLayerNorm,
                            PoolingHeadWeights head) {

    /** Prefixes under which a vision tower lives in the checkpoints Glimpse loads, tried in order. */
    public static final List<String> KNOWN_PREFIXES = List.of("", "vision_tower.", "model.vision_tower.");

    private static final String PROBE_NAME = "embeddings.patch_embedding.weight";

    /** {@code nn.Linear}: weight [out, in], bias [out] (null when the layer has none). */
    public record LinearWeights(Tensor weight, Tensor bias) {
        /** The weight placed as is, the bias in F32 ({@link ResidentWeights#placeBias}: what GEMM epilogues add). */
        LinearWeights on(ResidentWeights store) {
            return new LinearWeights(store.place(weight), store.placeBias(bias));
        }

        /**
         * Both placed as they are: the product feeding the MLP's activation, whose GELU epilogue (SigLIP's
         * gelu_tanh) writes 16-bit rows and then takes its bias in their dtype, never F32.
         */
        LinearWeights beforeActivationOn(ResidentWeights store) {
            return new LinearWeights(store.place(weight), store.place(bias));
        }
    }

    /** {@code nn.LayerNorm} with elementwise affine: weight and bias [hidden]. */
    public record LayerNormWeights(Tensor weight, Tensor bias) {
        LayerNormWeights on(ResidentWeights store) {
            return new LayerNormWeights(store.place(weight), store.place(bias));
        }
    }

    /**
     * Patch embedding as a linear map over flattened {@code (channel, row, col)} patches, CLIP's
     * class embedding (null for SigLIP) and the learned position embeddings [positions, hidden].
     */
    public record EmbeddingWeights(LinearWeights patch, Tensor classEmbedding, Tensor positionEmbedding) {
        EmbeddingWeights on(ResidentWeights store) {
            return new EmbeddingWeights(patch.on(store), store.place(classEmbedding), store.place(positionEmbedding));
        }
    }

    /**
     * One pre-LN encoder layer ({@code CLIPEncoderLayer} / {@code SiglipEncoderLayer}). {@code qkv}
     * [3, hidden, hidden] and {@code qkvBias} [3, hidden] (both null: none) stack q, k and v for one
     * product ({@link dev.glimpse.kernels.Backend#linearStack}); placed on a device by
     * {@link #on(ResidentWeights)} under {@link VisionLayout}, they are views of the very memory
     * query, key and value are.
     */
    public record BlockWeights(LayerNormWeights layerNorm1, LinearWeights query, LinearWeights key,
                               LinearWeights value, LinearWeights output, LayerNormWeights layerNorm2,
                               LinearWeights fc1, LinearWeights fc2, Tensor qkv, Tensor qkvBias) {

        /** The checkpoint's separate tensors, without a q/k/v stack. */
        public BlockWeights(LayerNormWeights layerNorm1, LinearWeights query, LinearWeights key, LinearWeights value,
                            LinearWeights output, LayerNormWeights layerNorm2, LinearWeights fc1, LinearWeights fc2) {
            this(layerNorm1, query, key, value, output, layerNorm2, fc1, fc2, null, null);
        }

        /**
         * With {@link VisionLayout#enabled()} on a device store, q/k/v weights and biases are first
         * uploaded as one concatenation each ({@link ResidentWeights#placeConcatenated}), so the
         * separate tensors placed after are views of it; nothing is uploaded twice. No stack where
         * the store declines the concatenation (a part already resident, mixed dtypes).
         */
        BlockWeights on(ResidentWeights store) {
            Tensor stack = null;
            Tensor stackBias = null;
            if (VisionLayout.enabled() && !store.isHost()) {
                int width = query.weight().dim(0);
                Tensor whole = store.placeConcatenated(List.of(query.weight(), key.weight(), value.weight()));
                Tensor biasWhole = store.placeConcatenatedBiases(List.of(query.bias(), key.bias(), value.bias()));
                if (whole != null && biasWhole != null) {
                    stack = whole.reshape(3, width, whole.dim(1));
                    stackBias = biasWhole.reshape(3, width);
                }
            }
            return new BlockWeights(layerNorm1.on(store), query.on(store), key.on(store), value.on(store),
                    output.on(store), layerNorm2.on(store), fc1.beforeActivationOn(store), fc2.on(store), stack, stackBias);
        }
    }

    /**
     * {@code SiglipMultiheadAttentionPoolingHead}: the probe [1, hidden], the query/key/value rows of
     * {@code nn.MultiheadAttention}'s packed {@code in_proj_weight} (views, in that order), its
     * {@code out_proj}, the layer norm and the MLP.
     */
    public record PoolingHeadWeights(Tensor probe, LinearWeights query, LinearWeights key, LinearWeights value,
                                     LinearWeights output, LayerNormWeights layerNorm, LinearWeights fc1,
                                     LinearWeights fc2) {
        PoolingHeadWeights on(ResidentWeights store) {
            return new PoolingHeadWeights(store.place(probe), query.on(store), key.on(store), value.on(store),
                    output.on(store), layerNorm.on(store), fc1.beforeActivationOn(store), fc2.on(store));
        }
    }

    /**
     * These weights where {@code store}'s backend computes: this record itself on a host backend
     * (zero-copy views of the checkpoint), else a record of device copies uploaded once by the store,
     * which owns them.
     */
    public VisionWeights on(ResidentWeights store) {
        if (store.isHost()) {
            return this;
        }
        return new VisionWeights(config, origin, root, embeddings.on(store),
                preLayerNorm == null ? null : preLayerNorm.on(store),
                layers.stream().map(b -> b.on(store)).toList(), postLayerNorm.on(store),
                head == null ? null : head.on(store));
    }

    /**
     * Loads the vision tower from a checkpoint, finding its root under {@link #KNOWN_PREFIXES}.
     *
     * @throws TensorNotFoundException when no known root holds the tower, or a tensor is missing
     * @throws WeightShapeException    when a tensor's shape or dtype does not fit the config
     */
    public static VisionWeights load(Checkpoint checkpoint, VisionConfig config) {
        List<String> tried = new ArrayList<>();
        for (String prefix : KNOWN_PREFIXES) {
            for (String root : List.of(prefix, prefix + "vision_model.")) {
                if (checkpoint.has(root + PROBE_NAME)) {
                    return resolve(new CheckpointSource(checkpoint), config, root);
                }
                tried.add(root + PROBE_NAME);
            }
        }
        throw new TensorNotFoundException("no vision tower in checkpoint " + checkpoint.folder() + ": none of "
                + tried + " exists");
    }

    /**
     * Loads the vision tower whose weights start with {@code prefix} (e.g. {@code "vision_tower."}),
     * directly or under a further {@code vision_model.}.
     */
    public static VisionWeights load(Checkpoint checkpoint, VisionConfig config, String prefix) {
        String root = checkpoint.has(prefix + PROBE_NAME) || !checkpoint.has(prefix + "vision_model." + PROBE_NAME)
                ? prefix : prefix + "vision_model.";
        return resolve(new CheckpointSource(checkpoint), config, root);
    }

    /** Resolves weights from tensors the caller holds (tests, benchmarks), keyed by HF name without root. */
    public static VisionWeights of(Map<String, Tensor> tensors, VisionConfig config) {
        return resolve(new MapSource(tensors), config, "");
    }

    private static VisionWeights resolve(Source source, VisionConfig c, String root) {
        Resolver r = new Resolver(source, root);
        int hidden = c.hiddenSize();
        int inner = c.intermediateSize();
        boolean clip = c.hasClassToken();
        int patchIn = c.numChannels() * c.patchSize() * c.patchSize();
        Tensor conv = r.tensor("embeddings.patch_embedding.weight", hidden, c.numChannels(), c.patchSize(), c.patchSize());
        EmbeddingWeights embeddings = new EmbeddingWeights(
                new LinearWeights(conv.reshape(hidden, patchIn), clip ? null : r.tensor("embeddings.patch_embedding.bias", hidden)),
                clip ? r.tensor("embeddings.class_embedding", hidden) : null,
                r.tensor("embeddings.position_embedding.weight", c.numPatches() + (clip ? 1 : 0), hidden));
        LayerNormWeights pre = clip ? r.layerNorm("pre_layrnorm", hidden) : null;
        List<BlockWeights> layers = new ArrayList<>(c.numHiddenLayers());
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "encoder.layers." + i + ".";
            layers.add(new BlockWeights(
                    r.layerNorm(p + "layer_norm1", hidden),
                    r.linear(p + "self_attn.q_proj", hidden, hidden),
                    r.linear(p + "self_attn.k_proj", hidden, hidden),
                    r.linear(p + "self_attn.v_proj", hidden, hidden),
                    r.linear(p + "self_attn.out_proj", hidden, hidden),
                    r.layerNorm(p + "layer_norm2", hidden),
                    r.linear(p + "mlp.fc1", inner, hidden),
                    r.linear(p + "mlp.fc2", hidden, inner)));
        }
        LayerNormWeights post = r.layerNorm("post_layernorm", hidden);
        PoolingHeadWeights head = c.visionUseHead() ? poolingHead(r, hidden, inner) : null;
        return new VisionWeights(c, source.origin(), root, embeddings, pre, List.copyOf(layers), post, head);
    }

    private static PoolingHeadWeights poolingHead(Resolver r, int hidden, int inner) {
        Tensor inWeight = r.tensor("head.attention.in_proj_weight", 3 * hidden, hidden);
        Tensor inBias = r.tensor("head.attention.in_proj_bias", 3 * hidden);
        LinearWeights[] qkv = new LinearWeights[3];
        for (int i = 0; i < 3; i++) {
            qkv[i] = new LinearWeights(inWeight.slice(0, i * hidden, (i + 1) * hidden),
                    inBias.slice(0, i * hidden, (i + 1) * hidden));
        }
        return new PoolingHeadWeights(r.tensor("head.probe", 1, 1, hidden).reshape(1, hidden), qkv[0], qkv[1], qkv[2],
                r.linear("head.attention.out_proj", hidden, hidden), r.layerNorm("head.layernorm", hidden),
                r.linear("head.mlp.fc1", inner, hidden), r.linear("head.mlp.fc2", hidden, inner));
    }

    /** Looks tensors up under the root and checks them. */
    private record Resolver(Source source, String root) {

        Tensor tensor(String name, int... shape) {
            String full = root + name;
            if (!source.has(full)) {
                throw new TensorNotFoundException("vision weight '" + full + "' is missing from " + source.origin());
            }
            Tensor t = source.get(full);
            if (!t.dtype().isFloatingPoint()) {
                throw new WeightShapeException(full, source.fileOf(full), shape, t.shape(),
                        "dtype " + t.dtype() + " is not a float type");
            }
            if (!Arrays.equals(t.shape(), shape)) {
                throw new WeightShapeException(full, source.fileOf(full), shape, t.shape(), "");
            }
            if (!t.isContiguous()) {
                throw new WeightShapeException(full, source.fileOf(full), shape, t.shape(), "tensor is not contiguous");
            }
            return t;
        }

        LinearWeights linear(String name, int out, int in) {
            return new LinearWeights(tensor(name + ".weight", out, in), tensor(name + ".bias", out));
        }

        LayerNormWeights layerNorm(String name, int hidden) {
            return new LayerNormWeights(tensor(name + ".weight", hidden), tensor(name + ".bias", hidden));
        }
    }

    private interface Source {
        boolean has(String name);

        Tensor get(String name);

        String origin();

        /** Where tensor {@code name} is stored, for error messages. */
        String fileOf(String name);
    }

    private record CheckpointSource(Checkpoint checkpoint) implements Source {
        public boolean has(String name) {
            return checkpoint.has(name);
        }

        public Tensor get(String name) {
            return checkpoint.tensor(name);
        }

        public String origin() {
            return "checkpoint " + checkpoint.folder();
        }

        public String fileOf(String name) {
            Path folder = checkpoint.folder();
            Path index = folder.resolve(Checkpoint.INDEX_FILE);
            if (Files.isRegularFile(index)) {
                return HfJson.read(index).raw("weight_map").map(map -> map.path(name).asText(""))
                        .filter(file -> !file.isEmpty()).map(file -> folder.resolve(file).toString())
                        .orElse(index.toString());
            }
            Path single = folder.resolve(Checkpoint.SINGLE_FILE);
            return Files.isRegularFile(single) ? single.toString() : origin();
        }
    }

    private record MapSource(Map<String, Tensor> tensors) implements Source {
        public boolean has(String name) {
            return tensors.containsKey(name);
        }

        public Tensor get(String name) {
            return tensors.get(name);
        }

        public String origin() {
            return "in-memory weights";
        }

        public String fileOf(String name) {
            return origin();
        }
    }
}
