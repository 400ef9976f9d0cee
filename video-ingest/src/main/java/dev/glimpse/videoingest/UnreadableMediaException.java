package dev.glimpse.videoingest;

/** The input could not be read at all: missing file, no permission, I/O failure. */
public final class UnreadableMediaException extends MediaException {

    public UnreadableMediaException(String message, Throwable cause) {
        super(message, cause);
    }
}
