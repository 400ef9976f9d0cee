package dev.glimpse.vlmruntime.llava;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.PixelNormalization;
import dev.glimpse.visionencoder.preprocess.StandardImageProcessor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * A request's pixels on the host, ready to cross to the backend: F32 {@code pixel_values} [n, 3, H, W], or (under
 * {@link LlavaModel#DEVICE_PIXELS_PROPERTY}) 8-bit images [n, h, w, 3] of one size that the backend normalizes
 * ({@link Backend#normalizePixels}) into [n, 3, planeHeight, planeWidth]. Filling it is the request's image
 * processing, which ends at {@link #readyNanos}; {@link #toBackend}, the upload, is part of the time to first token
 * on both paths. Owns its staging tensor ({@link Backend#stagingTensor}).
 */
final class HostPixels implements AutoCloseable {

    private final Tensor stage;
    private final PixelNormalization normalization;
    private final int planeHeight;
    private final int planeWidth;
    private final long readyNanos;

    private HostPixels(Tensor stage, PixelNormalization normalization, int planeHeight, int planeWidth) {
        this.stage = stage;
        this.normalization = normalization;
        this.planeHeight = planeHeight;
        this.planeWidth = planeWidth;
        this.readyNanos = System.nanoTime();
    }

    /** F32 pixel values [n, 3, H, W], taken over. */
    static HostPixels values(Tensor pixelValues) {
        return new HostPixels(pixelValues, null, pixelValues.dim(2), pixelValues.dim(3));
    }

    /**
     * The 8-bit pixels of {@code prepared} (all of one size and plane: {@code VisualEncoder#oneSize}) copied into one
     * staging tensor of the backend's, for it to apply {@code normalization}.
     */
    static HostPixels bytes(Backend backend, List<StandardImageProcessor.PreparedImage> prepared,
                            PixelNormalization normalization) {
        StandardImageProcessor.PreparedImage first = prepared.getFirst();
        int h = first.pixels().height();
        int w = first.pixels().width();
        int bytes = h * w * 3;   // RgbImage caps an image at 2^27 pixels
        Tensor stage = backend.stagingTensor(DType.U8, prepared.size(), h, w, 3);
        try {
            for (int i = 0; i < prepared.size(); i++) {
                MemorySegment.copy(prepared.get(i).pixels().pixels(), 0, stage.segment(), ValueLayout.JAVA_BYTE,
                        stage.byteOffset() + (long) i * bytes, bytes);
            }
            return new HostPixels(stage, normalization, first.planeHeight(), first.planeWidth());
        } catch (RuntimeException | Error e) {
            stage.close();
            throw e;
        }
    }

    /** When the host's part ended (the staging tensor filled), in {@link System#nanoTime} units. */
    long readyNanos() {
        return readyNanos;
    }

    /** The F32 pixel values on the host; only for {@link #values}. */
    Tensor values() {
        if (normalization != null) {
            throw new IllegalStateException("8-bit pixels are normalized on the backend, not on the host");
        }
        return stage;
    }

    /** {@code pixel_values} [n, 3, H, W] F32 on {@code backend}, owned by the caller (the upload, then the normalization). */
    Tensor toBackend(Backend backend) {
        if (normalization == null) {
            return backend.upload(stage);
        }
        Tensor out = null;
        try (Tensor rgb = backend.upload(stage)) {
            out = backend.allocate(DType.F32, stage.dim(0), 3, planeHeight, planeWidth);
            backend.normalizePixels(rgb, normalization, out);
            return out;
        } catch (RuntimeException | Error e) {
            if (out != null) {
                out.close();
            }
            throw e;
        }
    }

    @Override
    public void close() {
        stage.close();
    }
}
