package dev.glimpse.kernels.io;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** A sparse 3 GiB file: a tensor whose data starts beyond 2^31 bytes must read correctly. */
class LargeSafetensorsFileTest {

    @TempDir
    Path dir;

    @Test
    void tensorAtAnOffsetBeyondTwoGibibytesReadsCorrectly() throws IOException {
        long fillerBytes = 3L << 30;
        String header = "{\"filler\":{\"dtype\":\"U8\",\"shape\":[3," + (1 << 30) + "],\"data_offsets\":[0," + fillerBytes
                + "]},\"far\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[" + fillerBytes + "," + (fillerBytes + 8) + "]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        long dataStart = 8 + h.length;
        Path file = dir.resolve("big.safetensors");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).array());
            raf.write(h);
            raf.setLength(dataStart + fillerBytes + 8);
            raf.seek(dataStart + fillerBytes);
            raf.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putFloat(1.25f).putFloat(-3f).array());
        }
        Assumptions.assumeTrue(Files.size(file) > Integer.MAX_VALUE);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            Tensor far = st.tensor("far");
            assertEquals(1.25f, far.get(0));
            assertEquals(-3f, far.get(1));
            assertEquals(0, st.tensor("filler").getLong(2, 1_000_000));
        }
    }
}
