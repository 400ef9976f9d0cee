package dev.glimpse.kernels.io;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsFileTest {

    @TempDir
    Path dir;

    static Path writeSample(Path file) {
        new SafetensorsWriter()
                .add("w.f32", DType.F32, new float[]{1, -2, 3.5f, 4, 5, 6}, 2, 3)
                .add("w.bf16", DType.BF16, new float[]{1.5f, -0.25f, 3}, 3)
                .add("w.f16", DType.F16, new float[]{0.5f, 2}, 2, 1)
                .addInts("ids.i64", DType.I64, new long[]{1L << 40, -7}, 2)
                .addInts("ids.i32", DType.I32, new long[]{9, 8, 7}, 3)
                .add("empty", DType.F32, new float[0], 0, 4)
                .metadata("format", "pt")
                .write(file);
        return file;
    }

    /** A file made of a literal header and data bytes, for cases the writer never produces. */
    static Path raw(Path file, String header, byte[] data) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Files.write(file, b.array());
        return file;
    }

    @Test
    void roundTripKeepsValuesShapesDtypesAndMetadata() {
        Path file = writeSample(dir.resolve("a.safetensors"));
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(Map.of("format", "pt"), st.metadata());
            Tensor f32 = st.tensor("w.f32");
            assertEquals(DType.F32, f32.dtype());
            assertArrayEquals(new int[]{2, 3}, f32.shape());
            assertArrayEquals(new float[]{1, -2, 3.5f, 4, 5, 6}, f32.toFloatArray());
            assertArrayEquals(new float[]{1.5f, -0.25f, 3}, st.tensor("w.bf16").toFloatArray());
            assertArrayEquals(new float[]{0.5f, 2}, st.tensor("w.f16").toFloatArray());
            assertEquals(1L << 40, st.tensor("ids.i64").getLong(0));
            assertEquals(-7, st.tensor("ids.i64").getLong(1));
            assertArrayEquals(new int[]{9, 8, 7}, st.tensor("ids.i32").toIntArray());
            assertEquals(0, st.tensor("empty").numel());
            assertEquals(6, st.names().size());
        }
    }

    @Test
    void namesFollowFileOrderWithWidestDtypesFirst() {
        try (SafetensorsFile st = SafetensorsFile.open(writeSample(dir.resolve("a.safetensors")))) {
            assertEquals(List.of("ids.i64", "empty", "ids.i32", "w.f32", "w.bf16", "w.f16"), st.names());
        }
    }

    @Test
    void tensorsAreViewsOfTheMappedFile() {
        try (SafetensorsFile st = SafetensorsFile.open(writeSample(dir.resolve("a.safetensors")))) {
            Tensor t = st.tensor("w.f32");
            assertTrue(t.segment().isMapped());
            assertTrue(t.segment().isReadOnly());
        }
    }

    @Test
    void tensorsAreUnusableAfterClose() {
        SafetensorsFile st = SafetensorsFile.open(writeSample(dir.resolve("a.safetensors")));
        Tensor t = st.tensor("w.f32");
        st.close();
        assertThrows(IllegalStateException.class, t::toFloatArray);
    }

    @Test
    void missingTensorNamesTheTensorAndFile() {
        try (SafetensorsFile st = SafetensorsFile.open(writeSample(dir.resolve("a.safetensors")))) {
            TensorNotFoundException e = assertThrows(TensorNotFoundException.class, () -> st.tensor("nope"));
            assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("a.safetensors"));
        }
    }

    @Test
    void f64IsListedButRefusedWhenLoaded() throws IOException {
        Path file = raw(dir.resolve("f64.safetensors"),
                "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}", new byte[16]);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertEquals(SafetensorsDType.F64, st.info("d").dtype());
            UnsupportedDTypeException e = assertThrows(UnsupportedDTypeException.class, () -> st.tensor("d"));
            assertTrue(e.getMessage().contains("'d'") && e.getMessage().contains("F64"));
        }
    }

    @Test
    void unknownDtypeIsAFormatError() throws IOException {
        Path file = raw(dir.resolve("x.safetensors"),
                "{\"d\":{\"dtype\":\"F128\",\"shape\":[1],\"data_offsets\":[0,16]}}", new byte[16]);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("F128"));
    }

    @Test
    void overlappingRangesAreRejectedNamingTheTensor() throws IOException {
        Path file = raw(dir.resolve("o.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", new byte[12]);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("'b'"), e.getMessage());
    }

    @Test
    void gapBetweenRangesIsRejected() throws IOException {
        Path file = raw(dir.resolve("g.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", new byte[12]);
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
    }

    @Test
    void beginAfterEndIsRejected() throws IOException {
        Path file = raw(dir.resolve("r.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                        + "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,0]}}", new byte[4]);
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
    }

    @Test
    void shapeThatDisagreesWithByteLengthIsRejected() throws IOException {
        Path file = raw(dir.resolve("s.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8]);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("'a'") && e.getMessage().contains("12"), e.getMessage());
    }

    @Test
    void negativeDimensionIsRejected() throws IOException {
        Path file = raw(dir.resolve("n.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", new byte[4]);
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
    }

    @Test
    void shapeProductOverflowIsRejected() throws IOException {
        Path file = raw(dir.resolve("v.safetensors"), "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                + "\"data_offsets\":[0,4]}}", new byte[4]);
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
    }

    @Test
    void duplicateTensorNamesAreRejected() throws IOException {
        Path file = raw(dir.resolve("d.safetensors"), "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
                + "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[1,2]}}", new byte[2]);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("a"), e.getMessage());
    }

    @Test
    void trailingBytesAfterTheLastTensorAreRejected() throws IOException {
        Path file = raw(dir.resolve("t.safetensors"),
                "{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", new byte[2]);
        assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
    }

    @Test
    void metadataMustHoldStrings() throws IOException {
        Path file = raw(dir.resolve("m.safetensors"), "{\"__metadata__\":{\"k\":1}}", new byte[0]);
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("__metadata__.k"), e.getMessage());
    }

    @Test
    void headerOnlyFileWithNoTensorsOpens() throws IOException {
        Path file = raw(dir.resolve("e.safetensors"), "{}", new byte[0]);
        try (SafetensorsFile st = SafetensorsFile.open(file)) {
            assertTrue(st.names().isEmpty());
            assertFalse(st.has("x"));
        }
    }

    @Test
    void headerLengthBeyondTheLimitIsRejected() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(SafetensorsFile.MAX_HEADER_BYTES + 1);
        Path file = Files.write(dir.resolve("h.safetensors"), b.array());
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> SafetensorsFile.open(file));
        assertTrue(e.getMessage().contains("h.safetensors"));
    }
}
