package dev.glimpse.videoingest;

/**
 * A video or image could not be used. Each subclass is a cause a caller can act on; the message
 * names the input and, for limits, the flag that raises the limit. Unchecked, because frames are
 * produced lazily through iterators.
 */
public abstract sealed class MediaException extends RuntimeException
        permits CorruptMediaException, UnsupportedMediaException, MediaLimitExceededException,
        UnreadableMediaException {

    MediaException(String message) {
        super(message);
    }

    MediaException(String message, Throwable cause) {
        super(message, cause);
    }
}
