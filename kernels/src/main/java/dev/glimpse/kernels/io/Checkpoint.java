package dev.glimpse.kernels.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face checkpoint folder, found the way transformers finds them:
 * <ol>
 *   <li>{@code model.safetensors.index.json} present: its {@code weight_map} (tensor name to shard
 *       file name) defines the tensors; shards are mapped lazily on first use;</li>
 *   <li>else {@code model.safetensors};</li>
 *   <li>else every {@code *.safetensors} file in the folder (a tensor name in two files is an
 *       error).</li>
 * </ol>
 * Tensors are zero-copy views into the mapped files and stay valid until {@link #close()}. A
 * missing tensor is a {@link TensorNotFoundException} naming the tensor and the folder. Safe for
 * concurrent readers.
 */
public final class Checkpoint implements AutoCloseable {

    public static final String INDEX_FILE = "model.safetensors.index.json";
    public static final String SINGLE_FILE = "model.safetensors";

    private final Path folder;
    private final SortedMap<String, String> fileOf;
    private final Map<String, SafetensorsFile> open = new HashMap<>();
    private boolean closed;

    private Checkpoint(Path folder, SortedMap<String, String> fileOf) {
        this.folder = folder;
        this.fileOf = fileOf;
    }

    /** Opens the checkpoint in {@code folder}. */
    public static Checkpoint open(Path folder) {
        if (!Files.isDirectory(folder)) {
            throw new CheckpointException(folder + ": not a checkpoint folder (no such directory)");
        }
        Path index = folder.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) {
            return new Checkpoint(folder, readIndex(folder, index));
        }
        Path single = folder.resolve(SINGLE_FILE);
        List<Path> files = Files.isRegularFile(single) ? List.of(single) : listSafetensors(folder);
        if (files.isEmpty()) {
            throw new CheckpointException(folder + ": no " + INDEX_FILE + ", " + SINGLE_FILE
                    + " or other *.safetensors file");
        }
        Checkpoint checkpoint = new Checkpoint(folder, new TreeMap<>());
        try {
            for (Path file : files) {
                SafetensorsFile st = SafetensorsFile.open(file);
                String fileName = file.getFileName().toString();
                checkpoint.open.put(fileName, st);
                for (String name : st.names()) {
                    String previous = checkpoint.fileOf.putIfAbsent(name, fileName);
                    if (previous != null) {
                        throw new CheckpointFormatException(folder + ": tensor '" + name + "' is in both "
                                + previous + " and " + fileName);
                    }
                }
            }
        } catch (RuntimeException e) {
            checkpoint.close();
            throw e;
        }
        return checkpoint;
    }

    public Path folder() {
        return folder;
    }

    /** All tensor names, sorted. */
    public List<String> names() {
        return List.copyOf(fileOf.keySet());
    }

    /** Tensor names starting with {@code prefix}, sorted. */
    public List<String> names(String prefix) {
        return List.copyOf(withPrefix(prefix).keySet());
    }

    public boolean has(String name) {
        return fileOf.containsKey(name);
    }

    /** The header entry of {@code name}. */
    public TensorInfo info(String name) {
        return fileFor(name).info(name);
    }

    /** A zero-copy view of tensor {@code name}. */
    public Tensor tensor(String name) {
        return fileFor(name).tensor(name);
    }

    /**
     * The tensors whose names start with {@code prefix}, keyed by the rest of the name and sorted
     * (e.g. prefix {@code "model.layers.0."} gives {@code "self_attn.q_proj.weight"}, ...).
     */
    public SortedMap<String, Tensor> tensors(String prefix) {
        SortedMap<String, Tensor> out = new TreeMap<>();
        for (String name : withPrefix(prefix).keySet()) {
            out.put(name.substring(prefix.length()), tensor(name));
        }
        return Collections.unmodifiableSortedMap(out);
    }

    /** Unmaps every shard; tensors obtained from this checkpoint become unusable. Idempotent. */
    @Override
    public synchronized void close() {
        closed = true;
        open.values().forEach(SafetensorsFile::close);
        open.clear();
    }

    @Override
    public String toString() {
        return "Checkpoint[" + folder + ", " + fileOf.size() + " tensors]";
    }

    private SortedMap<String, String> withPrefix(String prefix) {
        return fileOf.subMap(prefix, prefix + Character.MAX_VALUE);
    }

    private synchronized SafetensorsFile fileFor(String name) {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        String fileName = fileOf.get(name);
        if (fileName == null) {
            throw new TensorNotFoundException(folder + ": checkpoint has no tensor named '" + name + "'");
        }
        SafetensorsFile file = open.get(fileName);
        if (file == null) {
            file = SafetensorsFile.open(folder.resolve(fileName));
            open.put(fileName, file);
        }
        if (!file.has(name)) {
            throw new CheckpointFormatException(folder.resolve(INDEX_FILE) + ": weight_map puts '" + name
                    + "' in " + fileName + ", which does not hold it");
        }
        return file;
    }

    private static SortedMap<String, String> readIndex(Path folder, Path index) {
        HfJson json;
        try {
            json = HfJson.read(index);
        } catch (ConfigException e) {
            throw new CheckpointFormatException(e.getMessage(), e);
        }
        JsonNode map = json.raw("weight_map").orElseThrow(() ->
                new CheckpointFormatException(index + ": key 'weight_map' is missing"));
        if (!map.isObject()) {
            throw new CheckpointFormatException(index + ": key 'weight_map' is not an object");
        }
        SortedMap<String, String> fileOf = new TreeMap<>();
        Path base = folder.toAbsolutePath().normalize();
        Set<String> checked = new HashSet<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw new CheckpointFormatException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            String fileName = e.getValue().textValue();
            if (checked.add(fileName)) {
                Path shard = base.resolve(fileName).normalize();
                if (!base.equals(shard.getParent()) || !Files.isRegularFile(shard)) {
                    throw new CheckpointFormatException(index + ": weight_map entry '" + e.getKey()
                            + "' names shard '" + fileName + "', which is not a file in " + folder);
                }
            }
            fileOf.put(e.getKey(), fileName);
        }
        return fileOf;
    }

    private static List<Path> listSafetensors(Path folder) {
        try (Stream<Path> s = Files.list(folder)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".safetensors"))
                    .filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new CheckpointException(folder + ": cannot list: " + e.getMessage(), e);
        }
    }
}
