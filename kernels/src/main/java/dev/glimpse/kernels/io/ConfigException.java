package dev.glimpse.kernels.io;

/**
 * A JSON configuration file (config.json, tokenizer_config.json, ...) cannot be used: unreadable,
 * malformed, or a key missing or of the wrong type. The message names the file and the key path
 * (e.g. {@code text_config.rope_scaling.factor}).
 */
public class ConfigException extends RuntimeException {

    public ConfigException(String message) {
        super(message);
    }

    public ConfigException(String message, Throwable cause) {
        super(message, cause);
    }
}
