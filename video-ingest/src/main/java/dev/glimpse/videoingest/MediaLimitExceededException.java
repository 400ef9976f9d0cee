package dev.glimpse.videoingest;

/**
 * The input exceeds one of the configured {@link MediaLimits}. The message names the input, the
 * limit, the value found and the command-line flag that raises the limit.
 */
public final class MediaLimitExceededException extends MediaException {

    private final MediaLimits.Limit limit;

    public MediaLimitExceededException(String input, MediaLimits.Limit limit, String found, String allowed) {
        super(input + ": " + limit.description() + " " + found + " exceeds the limit of " + allowed
                + " (raise it with " + limit.flag() + ")");
        this.limit = limit;
    }

    /** Which limit was exceeded. */
    public MediaLimits.Limit limit() {
        return limit;
    }
}
