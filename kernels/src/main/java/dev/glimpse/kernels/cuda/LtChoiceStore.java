package dev.glimpse.kernels.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * cuBLASLt's measured algorithm choices kept across processes: one small JSON file per GPU model,
 * compute capability, cuBLASLt build and CUDA runtime/driver ({@link Identity#fileName}), mapping a
 * problem key ({@link LtProblem#cacheKey} of the row bucket, plus the suffixes of an opt-in search
 * or timing, {@link LtSearch#storeKey}) to the winner's configuration
 * ({@link LtAlgoConfig}). A later process rebuilds and checks that algorithm instead of timing the
 * candidates again, so a one-request process (the CLI) pays the measurement once per machine, not
 * once per run.
 *
 * <p>The file ({@value #PROPERTY}: a path, or {@code off}; by default {@link #DEFAULT_FILE_DIR} under
 * {@code $XDG_CACHE_HOME} or {@code ~/.cache}) is read once ({@link #load}, or the first lookup). An unreadable,
 * truncated, malformed or foreign file (another format, GPU or cuBLASLt) gives one warning naming
 * it and is treated as absent; the next measurement rewrites it. Every {@link #record} writes the
 * file again: the entries on disk now (another process may have added some) merged with those this
 * process measured (last writer wins per key), at most {@value #MAX_ENTRIES} of them (the least
 * recently measured dropped), to a temporary file in the same directory renamed over the old one,
 * so a reader sees the old file or the new one, never a part. A directory that cannot be written
 * logs at debug level and the choices stay in memory for this process.
 */
final class LtChoiceStore {

    private static final Logger LOG = LoggerFactory.getLogger(LtChoiceStore.class);

    /** Where the choices are kept: a file path, or {@code off} (default: the user cache file). */
    static final String PROPERTY = "glimpse.cuda.ltTuneCache";

    /** Directory under the user cache directory that holds the file. */
    static final String DEFAULT_FILE_DIR = "glimpse";

    /** Version of the file's layout; any other is ignored and rewritten. */
    static final int FORMAT = 1;

    /** Most entries a file keeps. */
    static final int MAX_ENTRIES = 4096;

    /** Largest file read (a full one is about 2 MiB); anything bigger is not this cache's and is ignored. */
    static final long MAX_FILE_BYTES = 16L << 20;

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a choice is only valid for: the GPU model and the libraries that measured and run it. */
    record Identity(String gpu, int major, int minor, long cublasLt, long cudart, int driver) {

        /** The file name, e.g. {@code cublaslt-nvidia-h200-sm90-lt130100-rt13000-drv13000.json}. */
        String fileName() {
            return "cublaslt-" + sanitise(gpu) + "-sm" + major + minor + "-lt" + cublasLt + "-rt" + cudart + "-drv" + driver
                    + ".json";
        }

        @Override
        public String toString() {
            return gpu + " sm" + major + minor + ", cuBLASLt " + cublasLt + ", CUDA runtime " + cudart + ", driver " + driver;
        }
    }

    /** A stored choice and when it was measured (epoch ms; the oldest go first beyond the bound). */
    record Entry(LtAlgoConfig config, long measuredAt) {
    }

    private final Path file;
    private final Identity identity;
    private final Consumer<String> warnings;
    private final Map<String, Entry> entries = new HashMap<>();
    /** The entries this process measured, written over what other processes stored. */
    private final Map<String, Entry> recorded = new LinkedHashMap<>();
    private boolean loaded;
    private boolean warned;

    /** A store over {@code file} (null: nothing is read or written, lookups find nothing). */
    LtChoiceStore(Path file, Identity identity) {
        this(file, identity, LOG::warn);
    }

    /** A store that reports an unusable file to {@code warnings} (the log's warning level in production). */
    LtChoiceStore(Path file, Identity identity, Consumer<String> warnings) {
        this.file = file;
        this.identity = identity;
        this.warnings = warnings;
    }

    /**
     * The store {@value #PROPERTY} names for this device: its value as a path, none for {@code off},
     * by default {@link Identity#fileName} in {@code $XDG_CACHE_HOME/glimpse} (or {@code ~/.cache/glimpse}).
     */
    static LtChoiceStore fromProperty(Identity identity) {
        return new LtChoiceStore(resolve(System.getProperty(PROPERTY), System.getenv("XDG_CACHE_HOME"),
                System.getProperty("user.home"), identity), identity);
    }

    /** The file a property value, XDG_CACHE_HOME and the home directory select; null when off or no home. */
    static Path resolve(String property, String xdgCacheHome, String home, Identity identity) {
        if (property != null && !property.isBlank()) {
            return "off".equalsIgnoreCase(property.trim()) ? null : Path.of(property.trim());
        }
        Path base;
        if (xdgCacheHome != null && !xdgCacheHome.isBlank() && Path.of(xdgCacheHome).isAbsolute()) {
            base = Path.of(xdgCacheHome);
        } else if (home != null && !home.isBlank()) {
            base = Path.of(home, ".cache");
        } else {
            return null;
        }
        return base.resolve(DEFAULT_FILE_DIR).resolve(identity.fileName());
    }

    /** Lower-case letters and digits, other runs of characters as one '-' ({@code NVIDIA H200 NVL} -> {@code nvidia-h200-nvl}). */
    static String sanitise(String name) {
        String s = name.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
        return s.isEmpty() ? "gpu" : s;
    }

    /** The file (null when off). */
    Path file() {
        return file;
    }

    /** The stored configuration for a problem key, if any. */
    synchronized Optional<LtAlgoConfig> get(String key) {
        load();
        Entry e = entries.get(key);
        return e == null ? Optional.empty() : Optional.of(e.config());
    }

    /** Keeps a measured choice (replacing a stale one) and writes the file, merged with what is on disk now. */
    synchronized void record(String key, LtAlgoConfig config) {
        if (file == null) {
            return;
        }
        load();
        Entry entry = new Entry(config, System.currentTimeMillis());
        entries.put(key, entry);
        recorded.put(key, entry);
        write();
    }

    /** Entries known to this store now; for tests. */
    synchronized int size() {
        load();
        return entries.size();
    }

    /** Reads the file unless done already (lookups do it at the first one). */
    synchronized void load() {
        if (loaded || file == null) {
            return;
        }
        loaded = true;
        entries.putAll(readQuietly(true));
    }

    /**
     * The file's entries, or none where it is absent or unusable: with {@code warn} the first
     * unusable file of this store is reported once (a warning naming it); otherwise at debug level.
     */
    private Map<String, Entry> readQuietly(boolean warn) {
        if (!Files.exists(file)) { // also where a parent is not a directory: nothing can be stored there
            return Map.of();
        }
        try (InputStream in = Files.newInputStream(file)) {
            long bytes = Files.size(file);
            if (bytes > MAX_FILE_BYTES) {
                throw new InvalidFileException(bytes + " bytes, more than the " + MAX_FILE_BYTES + " a choice cache may hold");
            }
            return parse(JSON.readTree(in));
        } catch (NoSuchFileException e) {
            return Map.of();
        } catch (IOException | InvalidFileException e) {
            String reason = e instanceof InvalidFileException ? e.getMessage() : e.getClass().getSimpleName() + ": " + e.getMessage();
            if (warn && !warned) {
                warned = true;
                warnings.accept("cuBLASLt choice cache " + file + " is ignored and will be rewritten: " + reason);
            } else {
                LOG.debug("cuBLASLt choice cache {} is unusable: {}", file, reason);
            }
            return Map.of();
        }
    }

    private Map<String, Entry> parse(JsonNode root) throws InvalidFileException {
        if (root == null || !root.isObject()) {
            throw new InvalidFileException("not a JSON object");
        }
        JsonNode format = root.get("format");
        if (format == null || !format.isInt() || format.intValue() != FORMAT) {
            throw new InvalidFileException("format " + format + ", expected " + FORMAT);
        }
        JsonNode device = root.get("device");
        if (device == null || !device.isTextual() || !device.textValue().equals(identity.toString())) {
            throw new InvalidFileException("written for " + device + ", not " + identity);
        }
        JsonNode list = root.get("entries");
        if (list == null || !list.isObject()) {
            throw new InvalidFileException("no \"entries\" object");
        }
        Map<String, Entry> read = new HashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = list.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> field = it.next();
            read.put(field.getKey(), entry(field.getKey(), field.getValue()));
        }
        return read;
    }

    private static Entry entry(String key, JsonNode node) throws InvalidFileException {
        if (!node.isObject()) {
            throw new InvalidFileException("entry \"" + key + "\" is not an object");
        }
        try {
            return new Entry(new LtAlgoConfig(integer(node, key, "algo"), integer(node, key, "tile"),
                    integer(node, key, "stages"), integer(node, key, "splitK"), integer(node, key, "reduction"),
                    integer(node, key, "swizzle"), integer(node, key, "custom"), integer(node, key, "innerShape"),
                    integer(node, key, "clusterShape"), words(node, key)), longValue(node, key, "measuredAt"));
        } catch (IllegalArgumentException e) {
            throw new InvalidFileException("entry \"" + key + "\": " + e.getMessage());
        }
    }

    private static int integer(JsonNode node, String key, String name) throws InvalidFileException {
        JsonNode v = node.get(name);
        if (v == null || !v.isInt()) {
            throw new InvalidFileException("entry \"" + key + "\" has no integer \"" + name + "\"");
        }
        return v.intValue();
    }

    private static List<Long> words(JsonNode node, String key) throws InvalidFileException {
        JsonNode v = node.get("words");
        if (v == null || !v.isArray() || v.size() != LtAlgoConfig.WORDS) {
            throw new InvalidFileException("entry \"" + key + "\" has no array of " + LtAlgoConfig.WORDS + " \"words\"");
        }
        List<Long> words = new ArrayList<>(LtAlgoConfig.WORDS);
        for (JsonNode w : v) {
            if (!w.isIntegralNumber() || !w.canConvertToLong()) {
                throw new InvalidFileException("entry \"" + key + "\" has a word that is not a 64-bit integer: " + w);
            }
            words.add(w.longValue());
        }
        return words;
    }

    private static long longValue(JsonNode node, String key, String name) throws InvalidFileException {
        JsonNode v = node.get(name);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new InvalidFileException("entry \"" + key + "\" has no integer \"" + name + "\"");
        }
        return v.longValue();
    }

    /**
     * Writes the entries on disk merged with {@link #recorded} (ours win per key), newest
     * {@value #MAX_ENTRIES}, through a temporary file and an atomic rename; adopts the merged set.
     */
    private void write() {
        Map<String, Entry> merged = new HashMap<>(readQuietly(false));
        merged.putAll(recorded);
        Map<String, Entry> kept = bounded(merged);
        Path tmp = null;
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, file.getFileName().toString() + ".", ".tmp");
            JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), toJson(kept));
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
        } catch (IOException | RuntimeException e) {
            LOG.debug("cuBLASLt choice cache {} not written ({}); the choices stay in memory", file, e.toString());
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException e) {
                    LOG.debug("temporary file {} left behind: {}", tmp, e.toString());
                }
            }
        }
        entries.clear();
        entries.putAll(kept);
        recorded.keySet().retainAll(kept.keySet());
    }

    /** The newest {@value #MAX_ENTRIES} entries, oldest first (ties by key, so the order is stable). */
    static Map<String, Entry> bounded(Map<String, Entry> all) {
        Map<String, Entry> kept = new LinkedHashMap<>();
        all.entrySet().stream()
                .sorted(Comparator.<Map.Entry<String, Entry>>comparingLong(e -> e.getValue().measuredAt())
                        .thenComparing(Map.Entry::getKey))
                .skip(Math.max(0, all.size() - MAX_ENTRIES))
                .forEach(e -> kept.put(e.getKey(), e.getValue()));
        return kept;
    }

    private ObjectNode toJson(Map<String, Entry> kept) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("device", identity.toString());
        ObjectNode list = root.putObject("entries");
        kept.forEach((key, e) -> {
            LtAlgoConfig c = e.config();
            ObjectNode node = list.putObject(key);
            node.put("algo", c.algoId()).put("tile", c.tile()).put("stages", c.stages()).put("splitK", c.splitK())
                    .put("reduction", c.reductionScheme()).put("swizzle", c.ctaSwizzling()).put("custom", c.customOption())
                    .put("innerShape", c.innerShape()).put("clusterShape", c.clusterShape())
                    .put("measuredAt", e.measuredAt());
            ArrayNode words = node.putArray("words");
            c.words().forEach(words::add);
        });
        return root;
    }

    /** A file whose content is JSON but not a choice cache of this device. */
    private static final class InvalidFileException extends Exception {
        InvalidFileException(String message) {
            super(message);
        }
    }
}
