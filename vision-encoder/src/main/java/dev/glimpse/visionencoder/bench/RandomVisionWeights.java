package dev.glimpse.visionencoder.bench;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Seeded random weights for a vision tower of any {@link VisionConfig}, under the HF names
 * {@link dev.glimpse.visionencoder.VisionWeights} reads, held in memory (for benchmarks and tests;
 * never a stand-in for a real checkpoint). Matrices ~ N(0, 0.15^2 * 64 / in_features) so
 * activations stay bounded at any width, norm weights 1 + N(0, 0.25^2), biases N(0, 0.1^2),
 * position/class/probe vectors N(0, 0.5^2); and the vision benches' input pixels. The caller owns
 * (closes) the tensors.
 */
public final class RandomVisionWeights {

    private final SplittableRandom random;
    private final DType dtype;
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    private RandomVisionWeights(long seed, DType dtype) {
        this.random = new SplittableRandom(seed);
        this.dtype = dtype;
    }

    /** Pixel values [batch, channels, size, size] ~ N(0, 1) from seed 7, as a processor's normalised output. */
    public static Tensor pixels(int batch, VisionConfig c) {
        SplittableRandom random = new SplittableRandom(7);
        float[] v = new float[batch * c.numChannels() * c.imageSize() * c.imageSize()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.of(v, batch, c.numChannels(), c.imageSize(), c.imageSize());
    }

    /** Every weight the config implies, matrices and vectors stored as {@code dtype}. */
    public static Map<String, Tensor> generate(VisionConfig c, DType dtype, long seed) {
        RandomVisionWeights w = new RandomVisionWeights(seed, dtype);
        int e = c.hiddenSize();
        int inner = c.intermediateSize();
        boolean clip = c.hasClassToken();
        int patchIn = c.numChannels() * c.patchSize() * c.patchSize();
        w.matrix("embeddings.patch_embedding.weight", patchIn, e, c.numChannels(), c.patchSize(), c.patchSize());
        if (clip) {
            w.vector("embeddings.class_embedding", 0, 0.5, e);
            w.layerNorm("pre_layrnorm", e);
        } else {
            w.vector("embeddings.patch_embedding.bias", 0, 0.1, e);
        }
        w.vector("embeddings.position_embedding.weight", 0, 0.5, c.numPatches() + (clip ? 1 : 0), e);
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            String p = "encoder.layers." + i + ".";
            w.layerNorm(p + "layer_norm1", e);
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                w.linear(p + "self_attn." + proj, e, e);
            }
            w.layerNorm(p + "layer_norm2", e);
            w.linear(p + "mlp.fc1", inner, e);
            w.linear(p + "mlp.fc2", e, inner);
        }
        w.layerNorm("post_layernorm", e);
        if (c.visionUseHead()) {
            w.vector("head.probe", 0, 0.5, 1, 1, e);
            w.matrix("head.attention.in_proj_weight", e, 3 * e, e);
            w.vector("head.attention.in_proj_bias", 0, 0.1, 3 * e);
            w.linear("head.attention.out_proj", e, e);
            w.layerNorm("head.layernorm", e);
            w.linear("head.mlp.fc1", inner, e);
            w.linear("head.mlp.fc2", e, inner);
        }
        return w.tensors;
    }

    private void linear(String name, int out, int in) {
        matrix(name + ".weight", in, out, in);
        vector(name + ".bias", 0, 0.1, out);
    }

    private void layerNorm(String name, int width) {
        vector(name + ".weight", 1, 0.25, width);
        vector(name + ".bias", 0, 0.1, width);
    }

    private void matrix(String name, int fanIn, int... shape) {
        vector(name, 0, 0.15 * Math.sqrt(64.0 / fanIn), shape);
    }

    private void vector(String name, double mean, double std, int... shape) {
        float[] values = new float[Math.toIntExact(Tensor.numel(shape))];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) (mean + std * random.nextGaussian());
        }
        Tensor t = Tensor.allocate(dtype, shape);
        t.copyFrom(values);
        tensors.put(name, t);
    }
}
