package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.opencv.opencv_core.Mat;

import java.util.List;

import static org.bytedeco.opencv.global.opencv_core.CV_8UC3;
import static org.bytedeco.opencv.global.opencv_imgcodecs.IMREAD_COLOR_RGB;
import static org.bytedeco.opencv.global.opencv_imgcodecs.imdecode;

/**
 * Decodes jpg, png, webp, bmp and gif (first frame) images to upright 8-bit RGB. The header is
 * parsed in Java first, so that the file-size and pixel limits hold before any native decoder
 * allocates memory. JPEG, PNG, WebP and BMP go through OpenCV, which applies the EXIF orientation
 * and turns grayscale, palette, 16-bit and alpha images into RGB (alpha is dropped, as
 * {@code PIL.Image.convert("RGB")} does); GIF goes through FFmpeg, which returns its first frame.
 */
public final class ImageDecoder {

    private ImageDecoder() {
    }

    /**
     * Decodes an image.
     *
     * @throws MediaException when the input is unreadable, not a supported image, damaged, or over a limit
     */
    public static RgbImage decode(VideoSource source, MediaLimits limits) {
        limits.checkFileBytes(source.name(), source.size());
        byte[] bytes = source.bytes();
        ImageHeader header = ImageHeader.parse(source.name(), bytes);
        limits.checkPixels(source.name(), header.width(), header.height());
        return header.format().equals("gif") ? firstGifFrame(source, bytes, limits) : decodeWithOpenCv(source.name(), bytes);
    }

    private static RgbImage decodeWithOpenCv(String name, byte[] bytes) {
        try (BytePointer data = new BytePointer(bytes);
             Mat encoded = new Mat(1, bytes.length, org.bytedeco.opencv.global.opencv_core.CV_8UC1, data);
             Mat decoded = imdecode(encoded, IMREAD_COLOR_RGB)) {
            if (decoded == null || decoded.empty() || decoded.type() != CV_8UC3 || !decoded.isContinuous()) {
                throw new CorruptMediaException(name + ": the image data is damaged or truncated");
            }
            int w = decoded.cols();
            int h = decoded.rows();
            byte[] rgb = new byte[w * h * 3];
            decoded.data().get(rgb);
            return new RgbImage(w, h, rgb);
        }
    }

    private static RgbImage firstGifFrame(VideoSource source, byte[] bytes, MediaLimits limits) {
        VideoSource inMemory = new VideoSource.BytesSource(source.name(), bytes);
        try (VideoDecoder gif = VideoDecoder.open(inMemory, limits, DecodeOptions.DEFAULTS.withThreads(1));
             FrameIterator frames = gif.frames(new SamplePlan("first", List.of(new SampleTarget(0, 0))))) {
            return frames.next().image();
        }
    }
}
