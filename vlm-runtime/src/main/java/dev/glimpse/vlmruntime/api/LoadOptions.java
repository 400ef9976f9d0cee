package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.decoder.SessionOptions;

import java.util.Objects;

/**
 * How to load a model.
 *
 * @param device           cpu, cuda or auto (the logged fallback chain of {@link Backends})
 * @param prefillChunkSize decoder rows per prefill chunk (bounds scratch memory, not results), or
 *                         {@link SessionOptions#AUTO_PREFILL_CHUNK} for the session's choice
 *                         ({@link SessionOptions#prefillRows})
 */
public record LoadOptions(Backends.Choice device, int prefillChunkSize) {

    public LoadOptions {
        Objects.requireNonNull(device, "device");
        if (prefillChunkSize < SessionOptions.AUTO_PREFILL_CHUNK) {
            throw new IllegalArgumentException("prefillChunkSize must be >= 1 (or " + SessionOptions.AUTO_PREFILL_CHUNK
                    + " for automatic), got " + prefillChunkSize);
        }
    }

    /** Automatic device, automatic prefill chunks. */
    public static LoadOptions defaults() {
        return new LoadOptions(Backends.Choice.AUTO, SessionOptions.AUTO_PREFILL_CHUNK);
    }

    public LoadOptions withDevice(Backends.Choice choice) {
        return new LoadOptions(choice, prefillChunkSize);
    }
}
