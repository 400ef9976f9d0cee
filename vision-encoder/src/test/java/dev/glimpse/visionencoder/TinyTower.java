package dev.glimpse.visionencoder;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.visionencoder.bench.RandomVisionWeights;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.util.Map;
import java.util.OptionalInt;
import java.util.Random;

/** A small random CLIP or SigLIP tower in memory (hidden 32, 4 heads, 4 layers, 32x32 images, patch 8). */
final class TinyTower implements AutoCloseable {

    static final VisionConfig CLIP = new VisionConfig(VisionConfig.CLIP, 32, 64, 4, 4, 3, 32, 8, "quick_gelu", 1e-5,
            OptionalInt.of(32), false);
    static final VisionConfig SIGLIP = new VisionConfig(VisionConfig.SIGLIP, 32, 64, 4, 4, 3, 32, 8, "gelu_pytorch_tanh",
            1e-6, OptionalInt.empty(), true);

    final VisionConfig config;
    final Map<String, Tensor> tensors;
    final CpuBackend backend = new CpuBackend();
    final VisionTransformer encoder;

    TinyTower(VisionConfig config) {
        this.config = config;
        this.tensors = RandomVisionWeights.generate(config, DType.F32, 42);
        this.encoder = new VisionTransformer(backend, VisionWeights.of(tensors, config));
    }

    /** Random pixels [batch, 3, 32, 32], roughly the range a normalising processor gives. */
    Tensor pixels(int batch, long seed) {
        Random random = new Random(seed);
        float[] v = new float[batch * 3 * 32 * 32];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return Tensor.of(v, batch, 3, 32, 32);
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        backend.close();
    }
}
