package dev.glimpse.kernels.cuda.timeline;

/**
 * CUPTI, which {@link KernelTimeline} records with, could not be loaded or started; the message
 * says why and what to change. Callers that record a timeline on the side log it and go on without one.
 */
public final class TimelineUnavailableException extends RuntimeException {

    public TimelineUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    public TimelineUnavailableException(String message) {
        super(message);
    }
}
