package dev.glimpse.videoingest;

/**
 * The bytes are not a decodable video or image: empty, truncated, garbage, or a video stream
 * without a single decodable frame.
 */
public final class CorruptMediaException extends MediaException {

    public CorruptMediaException(String message) {
        super(message);
    }
}
