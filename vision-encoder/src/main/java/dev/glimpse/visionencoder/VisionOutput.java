package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;

import java.util.List;

/**
 * Results of one {@link VisionTransformer#encode} call: one {@link EncodedImage} per input image,
 * and, when the images were encoded as one batch (always without a pruning hook, which runs per
 * image), the features of all images as one [B, T, F] tensor. Owns the memory of every tensor it hands out: close it when done.
 */
public final class VisionOutput implements AutoCloseable {

    private final List<EncodedImage> images;
    private final Tensor stackedFeatures;
    private final List<Tensor> owned;

    VisionOutput(List<EncodedImage> images, Tensor stackedFeatures, List<Tensor> owned) {
        this.images = List.copyOf(images);
        this.stackedFeatures = stackedFeatures;
        this.owned = List.copyOf(owned);
    }

    public List<EncodedImage> images() {
        return images;
    }

    public EncodedImage image(int index) {
        return images.get(index);
    }

    /**
     * Features of all images, [B, T, F], whose rows {@link EncodedImage#features} views; null when
     * none were asked for, or a pruning hook encoded more than one image one at a time.
     */
    public Tensor stackedFeatures() {
        return stackedFeatures;
    }

    @Override
    public void close() {
        owned.forEach(Tensor::close);
    }
}
