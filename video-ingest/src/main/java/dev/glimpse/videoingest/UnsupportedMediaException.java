package dev.glimpse.videoingest;

/**
 * The input is well-formed media but not something Glimpse can turn into frames: an audio-only
 * file, a codec FFmpeg has no decoder for, an image format outside jpg/png/webp/bmp/gif.
 */
public final class UnsupportedMediaException extends MediaException {

    public UnsupportedMediaException(String message) {
        super(message);
    }
}
