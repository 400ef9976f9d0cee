package dev.glimpse.kernels.io;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Feeds many corrupted variants of a valid file to the reader: each must either open and read
 * every tensor consistently, or fail with a {@link CheckpointException}. Any other throwable
 * (OutOfMemoryError, IndexOutOfBounds, NullPointer, ...) fails the test.
 */
class SafetensorsCorruptionTest {

    @TempDir
    Path dir;

    @Test
    void everyCorruptedVariantOpensConsistentlyOrFailsWithATypedError() throws IOException {
        byte[] valid = Files.readAllBytes(SafetensorsFileTest.writeSample(dir.resolve("valid.safetensors")));
        int headerEnd = 8 + (int) ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        List<byte[]> variants = new ArrayList<>();

        for (int len = 0; len < valid.length; len += len < 64 ? 1 : 7) {
            variants.add(Arrays.copyOf(valid, len));
        }
        Random random = new Random(20240611L);
        for (int i = 0; i < 400; i++) {
            byte[] v = valid.clone();
            int flips = 1 + random.nextInt(3);
            for (int f = 0; f < flips; f++) {
                int at = i % 2 == 0 ? 8 + random.nextInt(headerEnd - 8) : random.nextInt(valid.length);
                v[at] ^= (byte) (1 << random.nextInt(8));
            }
            variants.add(v);
        }
        for (long length : new long[]{0, 1, 7, Long.MAX_VALUE, -1, 1L << 40, SafetensorsFile.MAX_HEADER_BYTES,
                headerEnd - 9, headerEnd - 7}) {
            byte[] v = valid.clone();
            ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).putLong(0, length);
            variants.add(v);
        }
        byte[] badUtf8 = valid.clone();
        badUtf8[9] = (byte) 0xC3;
        badUtf8[10] = (byte) 0x28;
        variants.add(badUtf8);
        variants.add(withHeader(valid, headerEnd, "[1, 2, 3]"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": 5}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": 5, \"shape\": [1], \"data_offsets\": [0, 4]}}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": \"F32\", \"shape\": \"1\", \"data_offsets\": [0, 4]}}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}"));
        variants.add(withHeader(valid, headerEnd, "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 99999999999999999999]}}"));
        variants.add(withHeader(valid, headerEnd, "{" + "\"x\":[".repeat(3000) + "]".repeat(3000) + "}"));

        int opened = 0;
        int rejected = 0;
        for (int i = 0; i < variants.size(); i++) {
            Path file = Files.write(dir.resolve("variant-" + i + ".safetensors"), variants.get(i));
            try (SafetensorsFile st = SafetensorsFile.open(file)) {
                readEverything(st);
                opened++;
            } catch (CheckpointException expected) {
                assertTrue(expected.getMessage().contains(file.getFileName().toString()),
                        "message should name the file: " + expected.getMessage());
                rejected++;
            } catch (Throwable t) {
                fail("variant " + i + " threw " + t, t);
            }
            Files.delete(file);
        }
        assertEquals(variants.size(), opened + rejected);
        assertTrue(rejected > variants.size() / 2, "most variants must be rejected, got " + rejected);
    }

    private static void readEverything(SafetensorsFile st) {
        for (String name : st.names()) {
            TensorInfo info = st.info(name);
            try {
                Tensor t = st.tensor(name);
                assertEquals(info.numel(), t.numel());
                assertEquals(info.byteLength(), Tensor.byteSize(t.dtype(), t.shape()));
                float[] values = t.toFloatArray();
                assertArrayEquals(values, st.tensor(name).toFloatArray());
            } catch (UnsupportedDTypeException expected) {
                assertTrue(info.dtype().loadsAs().isEmpty());
            }
        }
    }

    private static byte[] withHeader(byte[] valid, int headerEnd, String header) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        byte[] data = Arrays.copyOfRange(valid, headerEnd, valid.length);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(h.length).put(h).put(data).array();
    }
}
