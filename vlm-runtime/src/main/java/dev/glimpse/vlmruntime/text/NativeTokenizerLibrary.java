package dev.glimpse.vlmruntime.text;

import ai.djl.util.Platform;
import ai.djl.util.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Extracts DJL's native {@code tokenizers} library into a folder of its own and points DJL at it
 * ({@code RUST_LIBRARY_PATH}) before DJL loads it.
 *
 * <p>DJL 0.36 keys its own extraction folder by the visible GPU: with one it extracts to
 * {@code <cache>/tokenizers/<version>-cpu-linux-x86_64/<sm>/}, without one it wants the library
 * directly in {@code <version>-cpu-linux-x86_64/}. Once a run with a GPU has created that folder, a
 * run without one (say {@code CUDA_VISIBLE_DEVICES=""}) finds the folder present without the
 * library, cannot move its fresh extraction over the non-empty folder, and fails to load, whatever
 * {@code --device} asks for. The library in the jar is the same CPU build in both cases, so one
 * folder that does not depend on the GPU serves both. A {@code RUST_LIBRARY_PATH} the user set is
 * left alone; on Windows, where DJL also extracts the MinGW runtime beside it, DJL's own path is
 * kept.
 */
final class NativeTokenizerLibrary {

    static final String OVERRIDE = "RUST_LIBRARY_PATH";

    private static final Logger LOG = LoggerFactory.getLogger(NativeTokenizerLibrary.class);

    private NativeTokenizerLibrary() {
    }

    /** Extracts the library when needed and sets {@value #OVERRIDE}; on failure leaves DJL's default. */
    static void prepare() {
        if (Utils.getEnvOrSystemProperty(OVERRIDE) != null || System.getProperty("os.name").startsWith("Windows")) {
            return;
        }
        try {
            Platform platform = Platform.detectPlatform("tokenizers");
            String name = System.mapLibraryName("tokenizers");
            URL resource = NativeTokenizerLibrary.class.getClassLoader()
                    .getResource("native/lib/" + platform.getClassifier() + "/cpu/" + name);
            if (resource == null) {
                return;
            }
            Path dir = Utils.getEngineCacheDir("tokenizers")
                    .resolve("glimpse-" + platform.getVersion() + "-cpu-" + platform.getClassifier());
            Path library = extract(resource, dir.resolve(name));
            System.setProperty(OVERRIDE, library.toString());
        } catch (IOException | RuntimeException e) {
            LOG.debug("DJL extracts its tokenizers library itself: {}", e.toString());
        }
    }

    /**
     * Copies {@code resource} to {@code target} unless a file of its size is there; the copy goes to
     * a temporary file in the same folder first and is renamed into place, so concurrent runs never
     * load a half-written library.
     */
    private static Path extract(URL resource, Path target) throws IOException {
        long size = resource.openConnection().getContentLengthLong();
        if (Files.isRegularFile(target) && Files.size(target) == size) {
            return target;
        }
        Files.createDirectories(target.getParent());
        Path partial = Files.createTempFile(target.getParent(), target.getFileName().toString(), ".part");
        try (InputStream in = resource.openStream()) {
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(partial);
        }
        return target;
    }
}
