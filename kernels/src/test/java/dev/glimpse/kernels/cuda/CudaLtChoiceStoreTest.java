package dev.glimpse.kernels.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.ROUNDED_X;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperty;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * cuBLASLt choices kept across processes ({@link LtChoiceStore}), each "process" a fresh
 * {@link CudaBackend} over the same cache file: the second runs the algorithm the first measured
 * without measuring and computes the same bits; a stored algorithm cuBLASLt no longer accepts is
 * measured again and its entry replaced; with the cache off every backend measures.
 */
class CudaLtChoiceStoreTest {

    /** A shape no other test uses (skinny and deep: split-K variants are among the candidates). */
    private static final int M = 74;
    private static final int N = 1408;
    private static final int K = 2560;

    @TempDir
    Path dir;

    @Test
    void aSecondProcessRunsTheStoredChoiceWithoutMeasuringAndGivesTheSameBits() throws IOException {
        cuda(); // skips without a GPU
        Path file = dir.resolve("choices.json");
        try (Tensor x = random(101, 1f, DType.BF16, M, K); Tensor w = random(102, 0.05f, DType.BF16, N, K);
             Tensor bias = random(103, 0.1f, DType.F32, N); Tensor expected = Tensor.allocate(DType.F32, M, N)) {
            CPU.linear(x, w, bias, expected);
            float[][] results = new float[2][];
            withCache(file.toString(), gpu -> results[0] = linear(gpu, x, w, bias, expected, 1, "first process"));
            assertTrue(Files.exists(file), "the measurement was stored in " + file);
            assertEquals(1, entries(file).size(), "one entry per measured problem");
            withCache(file.toString(), gpu -> results[1] = linear(gpu, x, w, bias, expected, 0, "second process"));
            assertArrayEquals(results[0], results[1], "the stored algorithm is the measured one: same bits");
        }
    }

    @Test
    void anotherRowCountOfAStoredBucketIsNotMeasuredEither() throws IOException {
        cuda();
        Path file = dir.resolve("choices.json");
        try (Tensor w = random(111, 0.05f, DType.BF16, N, K); Tensor bias = random(112, 0.1f, DType.F32, N)) {
            withCache(file.toString(), gpu -> measureRows(gpu, w, bias, M, 1));
            withCache(file.toString(), gpu -> measureRows(gpu, w, bias, 100, 0));
            assertEquals(1, entries(file).size());
        }
    }

    @Test
    void aStoredAlgorithmCublasLtRefusesIsMeasuredAgainAndReplaced() throws IOException {
        cuda();
        Path file = dir.resolve("choices.json");
        try (Tensor x = random(121, 1f, DType.BF16, M, K); Tensor w = random(122, 0.05f, DType.BF16, N, K);
             Tensor bias = random(123, 0.1f, DType.F32, N); Tensor expected = Tensor.allocate(DType.F32, M, N)) {
            CPU.linear(x, w, bias, expected);
            withCache(file.toString(), gpu -> linear(gpu, x, w, bias, expected, 1, "first process"));
            ObjectMapper json = new ObjectMapper();
            ObjectNode root = (ObjectNode) json.readTree(file.toFile());
            String key = root.get("entries").fieldNames().next();
            ObjectNode entry = (ObjectNode) root.get("entries").get(key);
            entry.put("algo", 1_000_000); // no such algorithm: cublasLtMatmulAlgoInit refuses it
            json.writeValue(file.toFile(), root);
            withCache(file.toString(), gpu -> linear(gpu, x, w, bias, expected, 1, "stale entry"));
            assertNotEquals(1_000_000, entries(file).get(key).get("algo").intValue(), "the entry was replaced");
            withCache(file.toString(), gpu -> linear(gpu, x, w, bias, expected, 0, "after the stale entry's replacement"));

            root = (ObjectNode) json.readTree(file.toFile());
            entry = (ObjectNode) root.get("entries").get(key);
            int tile = entry.get("tile").intValue();
            entry.put("tile", tile + 1);
            json.writeValue(file.toFile(), root); // the words read back as another tile: the entry is not used
            withCache(file.toString(), gpu -> linear(gpu, x, w, bias, expected, 1, "inconsistent entry"));
            withCache(file.toString(), gpu -> linear(gpu, x, w, bias, expected, 0, "after the inconsistent entry's replacement"));
        }
    }

    @Test
    void withTheCacheOffEveryProcessMeasures() {
        cuda();
        try (Tensor x = random(131, 1f, DType.BF16, M, K); Tensor w = random(132, 0.05f, DType.BF16, N, K);
             Tensor bias = random(133, 0.1f, DType.F32, N); Tensor expected = Tensor.allocate(DType.F32, M, N)) {
            CPU.linear(x, w, bias, expected);
            withCache("off", gpu -> linear(gpu, x, w, bias, expected, 1, "first process, cache off"));
            withCache("off", gpu -> linear(gpu, x, w, bias, expected, 1, "second process, cache off"));
        }
    }

    /** Runs {@code body} on a fresh backend whose cuBLASLt choices persist in {@code cache}. */
    private static void withCache(String cache, Consumer<CudaBackend> body) {
        withProperty(LtChoiceStore.PROPERTY, cache, () -> {
            try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, 0))) {
                body.accept(gpu);
            }
        });
    }

    /** out = x W^T + bias on {@code gpu}, checked against the CPU and for {@code measured} measurements; its values. */
    private static float[] linear(CudaBackend gpu, Tensor x, Tensor w, Tensor bias, Tensor expected, int measured,
                                  String label) {
        try (Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, M, N)) {
            gpu.linear(gx, gw, gb, out);
            assertEquals(measured, gpu.ltTunings(), label + ": measurements");
            assertClose(label, expected, out, ROUNDED_X);
            try (Tensor host = gpu.download(out)) {
                return host.toFloatArray();
            }
        }
    }

    private static void measureRows(CudaBackend gpu, Tensor w, Tensor bias, int rows, int measured) {
        try (Tensor x = random(113 + rows, 1f, DType.BF16, rows, K); Tensor expected = Tensor.allocate(DType.F32, rows, N);
             Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = gpu.upload(bias);
             Tensor out = gpu.allocate(DType.F32, rows, N)) {
            CPU.linear(x, w, bias, expected);
            gpu.linear(gx, gw, gb, out);
            assertEquals(measured, gpu.ltTunings(), rows + " rows: measurements");
            assertClose(rows + " rows", expected, out, ROUNDED_X);
        }
    }

    private static JsonNode entries(Path file) throws IOException {
        JsonNode entries = new ObjectMapper().readTree(file.toFile()).get("entries");
        assertFalse(entries == null || entries.isEmpty(), "the file has entries");
        return entries;
    }
}
