package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.config.VisionConfig;

import java.util.List;

/**
 * Pixels to the token sequence the encoder layers read, as {@code CLIPVisionEmbeddings} followed by
 * {@code CLIPVisionModel.pre_layrnorm} ({@code modeling_clip.py}) or {@code SiglipVisionEmbeddings}
 * ({@code modeling_siglip.py}):
 * <ol>
 *   <li>the stride-p, p x p {@code Conv2d} patch embedding, computed as a linear map over patches
 *       flattened in {@code (channel, row, col)} order (the conv weight's own layout), patches in
 *       raster order ({@code flatten(2).transpose(1, 2)}); SigLIP's conv has a bias, CLIP's not;</li>
 *   <li>CLIP: the class embedding prepended as token 0;</li>
 *   <li>plus the learned position embeddings (no interpolation: the input must be image_size);</li>
 *   <li>CLIP: {@code pre_layrnorm}.</li>
 * </ol>
 */
final class VisionEmbeddings {

    private final Backend backend;
    private final VisionConfig config;
    private final VisionWeights.EmbeddingWeights weights;
    private final VisionWeights.LayerNormWeights preLayerNorm;
    private final float eps;

    VisionEmbeddings(Backend backend, VisionConfig config, VisionWeights.EmbeddingWeights weights,
                     VisionWeights.LayerNormWeights preLayerNorm) {
        this.backend = backend;
        this.config = config;
        this.weights = weights;
        this.preLayerNorm = preLayerNorm;
        this.eps = (float) config.layerNormEps();
    }

    /** Token count per image: patches, plus one for CLIP's [CLS]. */
    int tokens() {
        return config.numPatches() + (config.hasClassToken() ? 1 : 0);
    }

    /** Embeds pixels [B, C, H, W] into {@code out} [B, tokens, hidden], using the scratch buffers. */
    void forward(Tensor pixels, ForwardScratch scratch, Tensor out) {
        int batch = pixels.dim(0);
        int side = config.patchesPerSide();
        int p = config.patchSize();
        int c = config.numChannels();
        int hidden = config.hiddenSize();
        int numPatches = config.numPatches();
        Tensor patches = ForwardScratch.view(scratch.patches, batch, side, side, c, p, p);
        backend.copy(patchView(pixels, side, p, c), patches);
        Tensor flatPatches = patches.reshape(batch, numPatches, c * p * p);
        Tensor patchEmbeds = ForwardScratch.view(scratch.projected, batch, numPatches, hidden);
        backend.linear(flatPatches, weights.patch().weight(), weights.patch().bias(), patchEmbeds);
        Tensor withPositions = config.hasClassToken() ? ForwardScratch.view(scratch.residualMid, batch, tokens(), hidden) : out;
        Tensor sequence = patchEmbeds;
        if (config.hasClassToken()) {
            sequence = ForwardScratch.view(scratch.normed, batch, tokens(), hidden);
            backend.concat(1, List.of(broadcastClassEmbedding(batch), patchEmbeds), sequence);
        }
        backend.add(sequence, weights.positionEmbedding(), withPositions);
        if (preLayerNorm != null) {
            backend.layerNorm(withPositions, preLayerNorm.weight(), preLayerNorm.bias(), eps, out);
        }
    }

    /**
     * pixels [B, C, side*p, side*p] seen as [B, side, side, C, p, p]: patch (i, j) of image b,
     * flattened in the conv weight's (channel, row, col) order. A strided view; no copy.
     */
    private static Tensor patchView(Tensor pixels, int side, int p, int c) {
        long sb = pixels.stride(0);
        long sc = pixels.stride(1);
        long sh = pixels.stride(2);
        long sw = pixels.stride(3);
        return Tensor.strided(pixels.segment(), pixels.device(), pixels.dtype(),
                new int[] {pixels.dim(0), side, side, c, p, p},
                new long[] {sb, p * sh, p * sw, sc, sh, sw}, pixels.offset());
    }

    /** The class embedding [hidden] seen as [B, 1, hidden] with stride 0 over the batch. */
    private Tensor broadcastClassEmbedding(int batch) {
        Tensor cls = weights.classEmbedding();
        return Tensor.strided(cls.segment(), cls.device(), cls.dtype(), new int[] {batch, 1, cls.dim(0)},
                new long[] {0, 0, 1}, cls.offset());
    }
}
