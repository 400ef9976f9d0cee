package dev.glimpse.kernels.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes safetensors files, for tests and tools that need small checkpoints without Python.
 *
 * <p>The layout follows the reference crate's {@code serialize_to_file}: tensors ordered by
 * descending element width, then by name; data contiguous from offset 0; the JSON header padded with
 * spaces to a multiple of 8 bytes. Values are copied into host memory owned by the writer when
 * added, so the sources may be closed before {@link #write}.
 */
public final class SafetensorsWriter {

    private record Entry(String name, DType dtype, int[] shape, Tensor data) {
    }

    private final Map<String, Entry> entries = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    /** Adds a copy of {@code tensor} (any strides) under {@code name}. */
    public SafetensorsWriter add(String name, Tensor tensor) {
        Tensor copy = Tensor.allocate(tensor.dtype(), tensor.shape());
        tensor.copyElementsTo(copy);
        return put(name, copy);
    }

    /** Adds {@code values} (row-major) converted to {@code dtype} with {@code shape}. */
    public SafetensorsWriter add(String name, DType dtype, float[] values, int... shape) {
        Tensor t = Tensor.allocate(dtype, shape);
        try {
            t.copyFrom(values);
        } catch (RuntimeException e) {
            t.close();
            throw e;
        }
        return put(name, t);
    }

    /** Adds integer {@code values} (row-major) as {@code dtype} (I32 or I64) with {@code shape}. */
    public SafetensorsWriter addInts(String name, DType dtype, long[] values, int... shape) {
        if (dtype != DType.I32 && dtype != DType.I64) {
            throw new IllegalArgumentException("addInts writes I32 or I64, not " + dtype);
        }
        Tensor t = Tensor.allocate(dtype, shape);
        if (t.numel() != values.length) {
            t.close();
            throw new IllegalArgumentException(values.length + " values for shape " + Arrays.toString(shape));
        }
        MemorySegment s = t.segment();
        for (int i = 0; i < values.length; i++) {
            if (dtype == DType.I32) {
                s.setAtIndex(ValueLayout.JAVA_INT_UNALIGNED, i, Math.toIntExact(values[i]));
            } else {
                s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, values[i]);
            }
        }
        return put(name, t);
    }

    /** Adds a {@code __metadata__} entry. */
    public SafetensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    /** Writes the file (replacing it) and releases the copies this writer holds. */
    public void write(Path path) {
        List<Entry> ordered = new ArrayList<>(entries.values());
        ordered.sort(Comparator.comparingInt((Entry e) -> -e.dtype().byteSize()).thenComparing(Entry::name));
        byte[] header = header(ordered);
        try (FileChannel out = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeFully(out, length);
            writeFully(out, ByteBuffer.wrap(header));
            for (Entry e : ordered) {
                long bytes = Tensor.byteSize(e.dtype(), e.shape());
                writeFully(out, e.data().segment().asSlice(0, bytes).asByteBuffer());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + path + ": " + e.getMessage(), e);
        } finally {
            entries.values().forEach(e -> e.data().close());
            entries.clear();
        }
    }

    private SafetensorsWriter put(String name, Tensor copy) {
        if (name.equals("__metadata__") || entries.containsKey(name)) {
            copy.close();
            throw new IllegalArgumentException("tensor name '" + name + "' is reserved or already added");
        }
        entries.put(name, new Entry(name, copy.dtype(), copy.shape(), copy));
        return this;
    }

    private byte[] header(List<Entry> ordered) {
        ObjectMapper json = new ObjectMapper();
        ObjectNode root = json.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Entry e : ordered) {
            ObjectNode info = root.putObject(e.name());
            info.put("dtype", e.dtype().name());
            ArrayNode shape = info.putArray("shape");
            for (int d : e.shape()) {
                shape.add(d);
            }
            long bytes = Tensor.byteSize(e.dtype(), e.shape());
            info.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        try {
            byte[] raw = json.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
            int padded = (raw.length + 7) / 8 * 8;
            byte[] out = new byte[padded];
            Arrays.fill(out, (byte) ' ');
            System.arraycopy(raw, 0, out, 0, raw.length);
            return out;
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot serialise safetensors header", e);
        }
    }

    private static void writeFully(FileChannel out, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            out.write(buffer);
        }
    }
}
