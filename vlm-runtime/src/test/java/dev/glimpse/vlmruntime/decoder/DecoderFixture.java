package dev.glimpse.vlmruntime.decoder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A tiny CausalLM checkpoint from fixtures/decoder-* (made by tools/fixtures/make_decoder_fixtures.py)
 * loaded as a {@link Decoder}, with HF's expected outputs.
 */
public record DecoderFixture(Checkpoint checkpoint, Decoder decoder, JsonNode expected) implements AutoCloseable {

    public static Path folder(String name) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("fixtures").resolve(name);
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("fixtures/" + name + " not found above " + Path.of("").toAbsolutePath());
    }

    public static DecoderFixture open(String name) {
        Path folder = folder(name);
        Checkpoint checkpoint = Checkpoint.open(folder);
        try {
            TextConfig config = TextConfig.load(folder.resolve("config.json"));
            JsonNode expected = new ObjectMapper().readTree(folder.resolve("expected.json").toFile());
            return new DecoderFixture(checkpoint, Decoder.load(new CpuBackend(), checkpoint, config), expected);
        } catch (IOException e) {
            checkpoint.close();
            throw new UncheckedIOException(e);
        }
    }

    public int[] inputIds() {
        return ints(expected.get("input_ids"));
    }

    public static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }

    public static float[] floats(JsonNode array) {
        float[] out = new float[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) array.get(i).asDouble();
        }
        return out;
    }

    public static float maxAbsDiff(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
        }
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    public static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @Override
    public void close() {
        decoder.close();
        checkpoint.close();
    }
}
