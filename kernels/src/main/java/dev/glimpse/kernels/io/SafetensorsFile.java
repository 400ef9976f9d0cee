package dev.glimpse.kernels.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A memory-mapped safetensors file whose tensors are zero-copy {@link Tensor} views.
 *
 * <p>Layout: an unsigned little-endian 64-bit header length {@code n}, {@code n} bytes of UTF-8
 * JSON ({@code {"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}}),
 * then the data region. Opening validates the same rules as the reference {@code safetensors} crate
 * ({@code SafeTensors::read_metadata} and {@code Metadata::validate}): the header is at most
 * {@value #MAX_HEADER_BYTES} bytes and lies inside the file, is valid UTF-8 holding one JSON object
 * (duplicate keys are rejected); sorted by offsets, the tensors' ranges start at 0 and are
 * contiguous (no gaps, no overlaps, {@code begin <= end}); each range's length equals
 * {@code numel x dtype size} with no overflow; and the last range ends exactly at the end of the
 * file. Every violation is a {@link CheckpointFormatException} naming the file and the tensor or key.
 *
 * <p>Every safetensors dtype is accepted in the header; tensors of dtypes without a {@link DType}
 * (F64, I8, U16, F8_*, ...) are listed by {@link #info} but {@link #tensor} refuses them with an
 * {@link UnsupportedDTypeException}.
 *
 * <p>The whole file is mapped once (through {@link FileChannel#map(FileChannel.MapMode, long, long, Arena)},
 * so files and offsets beyond 2 GiB work). Tensors returned by {@link #tensor} borrow the mapping:
 * using them after {@link #close()} throws {@link IllegalStateException}.
 */
public final class SafetensorsFile implements AutoCloseable {

    /** The reference crate's {@code MAX_HEADER_SIZE}. */
    public static final long MAX_HEADER_BYTES = 100_000_000L;

    private static final String METADATA_KEY = "__metadata__";
    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .disable(JsonParser.Feature.ALLOW_COMMENTS)
            .build();

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, TensorInfo> tensors;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code path}. */
    public static SafetensorsFile open(Path path) {
        Arena arena = Arena.ofShared();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < 8) {
                throw error(path, "file of " + size + " bytes is shorter than the 8-byte header length");
            }
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (lengthBytes.hasRemaining()) {
                if (channel.read(lengthBytes, lengthBytes.position()) < 0) {
                    throw error(path, "file ended while reading the header length");
                }
            }
            long headerLength = lengthBytes.getLong(0);
            if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
                throw error(path, "header length " + Long.toUnsignedString(headerLength) + " exceeds the limit of "
                        + MAX_HEADER_BYTES + " bytes");
            }
            if (8 + headerLength > size) {
                throw error(path, "header length " + headerLength + " reaches past the end of the "
                        + size + "-byte file");
            }
            MemorySegment file = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            byte[] header = file.asSlice(8, headerLength).toArray(ValueLayout.JAVA_BYTE);
            JsonNode root = parseHeader(path, header);
            Map<String, String> metadata = readMetadata(path, root.get(METADATA_KEY));
            long dataStart = 8 + headerLength;
            Map<String, TensorInfo> tensors = readTensors(path, root, size - dataStart);
            return new SafetensorsFile(path, arena, file.asSlice(dataStart), tensors, metadata);
        } catch (IOException e) {
            arena.close();
            throw new CheckpointException(path + ": cannot read: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /** Tensor names in file order (by data offset). */
    public List<String> names() {
        return List.copyOf(tensors.keySet());
    }

    public boolean has(String name) {
        return tensors.containsKey(name);
    }

    /** The header entry of {@code name}. */
    public TensorInfo info(String name) {
        TensorInfo info = tensors.get(name);
        if (info == null) {
            throw new TensorNotFoundException(path + ": no tensor named '" + name + "'");
        }
        return info;
    }

    /** The {@code __metadata__} string map (empty when the header has none). */
    public Map<String, String> metadata() {
        return metadata;
    }

    /**
     * A zero-copy view of tensor {@code name}, valid until {@link #close()}. Dimensions above
     * {@link Integer#MAX_VALUE} (legal in the format) are refused with a {@link CheckpointException}.
     */
    public Tensor tensor(String name) {
        TensorInfo info = info(name);
        DType dtype = info.dtype().loadsAs().orElseThrow(() -> new UnsupportedDTypeException(
                path + ": tensor '" + name + "' has dtype " + info.dtype() + ", which Glimpse cannot load"
                        + " (supported: F32, F16, BF16, I64, I32, U8, BOOL)"));
        int[] shape = new int[info.shape().size()];
        for (int i = 0; i < shape.length; i++) {
            long d = info.shape().get(i);
            if (d > Integer.MAX_VALUE) {
                throw new CheckpointException(path + ": tensor '" + name + "' has dimension " + d
                        + ", beyond what a Tensor can index");
            }
            shape[i] = (int) d;
        }
        return Tensor.wrap(data.asSlice(info.begin(), info.byteLength()), dtype, shape);
    }

    /** Unmaps the file; tensors obtained from it become unusable. Idempotent. */
    @Override
    public void close() {
        if (arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "SafetensorsFile[" + path + ", " + tensors.size() + " tensors]";
    }

    // ---------------------------------------------------------------- header parsing

    private static JsonNode parseHeader(Path path, byte[] header) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(header)).toString();
        } catch (CharacterCodingException e) {
            throw error(path, "header is not valid UTF-8");
        }
        if (!text.startsWith("{")) {
            throw error(path, "header does not start with '{'");
        }
        JsonNode root;
        try {
            root = JSON.readTree(text);
        } catch (JsonProcessingException e) {
            throw new CheckpointFormatException(path + ": header is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw error(path, "header is not a JSON object");
        }
        return root;
    }

    private static Map<String, String> readMetadata(Path path, JsonNode node) {
        if (node == null || node.isNull()) {
            return Map.of();
        }
        if (!node.isObject()) {
            throw error(path, "'" + METADATA_KEY + "' is not an object of strings");
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getValue().isTextual()) {
                throw error(path, "'" + METADATA_KEY + "." + e.getKey() + "' is not a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, TensorInfo> readTensors(Path path, JsonNode root, long dataLength) {
        List<TensorInfo> infos = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!e.getKey().equals(METADATA_KEY)) {
                infos.add(readInfo(path, e.getKey(), e.getValue()));
            }
        }
        infos.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long expectedBegin = 0;
        Map<String, TensorInfo> byName = new LinkedHashMap<>();
        for (TensorInfo info : infos) {
            if (info.begin() != expectedBegin || info.end() < info.begin()) {
                throw error(path, "tensor '" + info.name() + "' has data_offsets [" + info.begin() + ", " + info.end()
                        + "] but the ranges must be contiguous from 0; expected begin " + expectedBegin
                        + " (overlapping, unordered or gapped ranges)");
            }
            long bytes = byteLength(path, info);
            if (info.byteLength() != bytes) {
                throw error(path, "tensor '" + info.name() + "' of dtype " + info.dtype() + " and shape "
                        + info.shape() + " needs " + bytes + " bytes but data_offsets span " + info.byteLength());
            }
            expectedBegin = info.end();
            byName.put(info.name(), info);
        }
        if (expectedBegin != dataLength) {
            throw error(path, "tensor data covers " + expectedBegin + " bytes but the data region holds "
                    + dataLength + " (truncated file or incomplete header)");
        }
        return Collections.unmodifiableMap(byName);
    }

    private static TensorInfo readInfo(Path path, String name, JsonNode node) {
        if (!node.isObject()) {
            throw error(path, "entry '" + name + "' is not an object");
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw error(path, "tensor '" + name + "': 'dtype' is missing or not a string");
        }
        SafetensorsDType dtype = SafetensorsDType.parse(dtypeNode.textValue()).orElseThrow(() -> error(path,
                "tensor '" + name + "': unknown dtype '" + dtypeNode.textValue() + "'"));
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw error(path, "tensor '" + name + "': 'shape' is missing or not an array");
        }
        List<Long> shape = new ArrayList<>(shapeNode.size());
        for (JsonNode d : shapeNode) {
            shape.add(nonNegativeLong(path, name, "shape", d));
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw error(path, "tensor '" + name + "': 'data_offsets' is missing or not a [begin, end] pair");
        }
        long begin = nonNegativeLong(path, name, "data_offsets", offsets.get(0));
        long end = nonNegativeLong(path, name, "data_offsets", offsets.get(1));
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long nonNegativeLong(Path path, String name, String key, JsonNode n) {
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < 0) {
            throw error(path, "tensor '" + name + "': '" + key + "' holds " + n + ", not a non-negative integer");
        }
        return n.longValue();
    }

    private static long byteLength(Path path, TensorInfo info) {
        try {
            long bits = info.dtype().bits();
            for (long d : info.shape()) {
                bits = Math.multiplyExact(bits, d);
            }
            if (bits % 8 != 0) {
                throw error(path, "tensor '" + info.name() + "' of sub-byte dtype " + info.dtype()
                        + " does not end on a byte boundary");
            }
            return bits / 8;
        } catch (ArithmeticException e) {
            throw error(path, "tensor '" + info.name() + "': shape " + info.shape() + " x dtype " + info.dtype()
                    + " overflows");
        }
    }

    private static CheckpointFormatException error(Path path, String message) {
        return new CheckpointFormatException(path + ": " + message);
    }
}
