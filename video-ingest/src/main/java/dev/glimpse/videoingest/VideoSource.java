package dev.glimpse.videoingest;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where media bytes come from: a local file, or bytes already in memory (an upload). Streams are
 * read into memory up to {@link MediaLimits#maxFileBytes()}, because containers such as MP4 keep
 * their index at the end and need random access.
 */
public sealed interface VideoSource {

    /** A name for messages: the file path, or the upload's name. */
    String name();

    /** Size in bytes, without reading the content. */
    long size();

    /** A local file. */
    record FileSource(Path path) implements VideoSource {
        public FileSource {
            Objects.requireNonNull(path, "path");
        }

        @Override
        public String name() {
            return path.toString();
        }

        @Override
        public long size() {
            try {
                return Files.size(path);
            } catch (NoSuchFileException e) {
                throw new UnreadableMediaException(path + ": no such file", e);
            } catch (IOException e) {
                throw new UnreadableMediaException(path + ": cannot read: " + e.getMessage(), e);
            }
        }

        byte[] readAll() {
            try {
                return Files.readAllBytes(path);
            } catch (NoSuchFileException e) {
                throw new UnreadableMediaException(path + ": no such file", e);
            } catch (IOException e) {
                throw new UnreadableMediaException(path + ": cannot read: " + e.getMessage(), e);
            }
        }
    }

    /** Bytes in memory; not copied, so the caller must not modify the array afterwards. */
    record BytesSource(String name, byte[] bytes) implements VideoSource {
        public BytesSource {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(bytes, "bytes");
        }

        @Override
        public long size() {
            return bytes.length;
        }
    }

    static VideoSource of(Path path) {
        return new FileSource(path);
    }

    static VideoSource of(String name, byte[] bytes) {
        return new BytesSource(name, bytes);
    }

    /**
     * Reads a stream into memory, refusing more than {@code limits.maxFileBytes()} bytes before
     * reading them all. The stream is not closed.
     */
    static VideoSource of(String name, InputStream in, MediaLimits limits) {
        try {
            byte[] bytes = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, limits.maxFileBytes() + 1));
            limits.checkFileBytes(name, bytes.length);
            return new BytesSource(name, bytes);
        } catch (IOException e) {
            throw new UnreadableMediaException(name + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** The whole content; for files this reads the file. */
    default byte[] bytes() {
        return switch (this) {
            case FileSource f -> f.readAll();
            case BytesSource b -> b.bytes();
        };
    }
}
