package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.Backends;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.vlmruntime.decoder.SessionOptions;

import java.util.Objects;

/**
 * How to load a model.
 *
 * @param device           cpu, cuda or auto (the logged fallback chain of {@link Backends})
 * @param prefillChunkSize decoder rows per prefill chunk (bounds scratch memory, not results), or
 *                         {@link SessionOptions#AUTO_PREFILL_CHUNK} for the session's choice
 *                         ({@link SessionOptions#prefillRows})
 * @param mediaLimits      what one input may cost (file size, pixels per frame, frames, duration,
 *                         decoding time), checked whenever the model decodes media; a service sets
 *                         its own, the CLI keeps {@link MediaLimits#DEFAULTS}
 */
public record LoadOptions(Backends.Choice device, int prefillChunkSize, MediaLimits mediaLimits) {

    public LoadOptions {
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(mediaLimits, "mediaLimits");
        if (prefillChunkSize < SessionOptions.AUTO_PREFILL_CHUNK) {
            throw new IllegalArgumentException("prefillChunkSize must be >= 1 (or " + SessionOptions.AUTO_PREFILL_CHUNK
                    + " for automatic), got " + prefillChunkSize);
        }
    }

    /** Automatic device, automatic prefill chunks, the default media limits. */
    public static LoadOptions defaults() {
        return new LoadOptions(Backends.Choice.AUTO, SessionOptions.AUTO_PREFILL_CHUNK, MediaLimits.DEFAULTS);
    }

    public LoadOptions withDevice(Backends.Choice choice) {
        return new LoadOptions(choice, prefillChunkSize, mediaLimits);
    }

    public LoadOptions withMediaLimits(MediaLimits limits) {
        return new LoadOptions(device, prefillChunkSize, limits);
    }
}
