package dev.glimpse.vlmruntime.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Streams a bf16 safetensors file of random values to disk, tensor by tensor through a small
 * buffer, so a checkpoint of a gigabyte never sits in memory. Values are uniform in
 * {@code [-scale, scale)}; tensors named {@code *norm.weight} are ones.
 */
final class RandomCheckpointWriter {

    private final Map<String, long[]> shapes = new LinkedHashMap<>();

    RandomCheckpointWriter add(String name, long... shape) {
        shapes.put(name, shape);
        return this;
    }

    void write(Path file, long seed, float scale) {
        ObjectMapper mapper = new ObjectMapper();
        ObjectNode header = mapper.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, long[]> e : shapes.entrySet()) {
            long bytes = 2 * elements(e.getValue());
            ObjectNode entry = header.putObject(e.getKey());
            entry.put("dtype", "BF16");
            entry.putPOJO("shape", e.getValue());
            entry.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            byte[] json = mapper.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
            int padded = (json.length + 7) / 8 * 8;
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(json);
            while (head.hasRemaining()) {
                head.put((byte) ' ');
            }
            channel.write(head.flip());
            SplittableRandom random = new SplittableRandom(seed);
            ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 22).order(ByteOrder.LITTLE_ENDIAN);
            for (Map.Entry<String, long[]> e : shapes.entrySet()) {
                boolean ones = e.getKey().endsWith("norm.weight");
                for (long i = elements(e.getValue()); i > 0; i--) {
                    float v = ones ? 1f : (float) ((random.nextDouble() * 2 - 1) * scale);
                    buffer.putShort((short) (Float.floatToRawIntBits(v) >>> 16));
                    if (!buffer.hasRemaining()) {
                        channel.write(buffer.flip());
                        buffer.clear();
                    }
                }
            }
            channel.write(buffer.flip());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    private static long elements(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }
}
