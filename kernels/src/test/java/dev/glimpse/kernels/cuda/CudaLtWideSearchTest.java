package dev.glimpse.kernels.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static dev.glimpse.kernels.cuda.CudaTestSupport.ROUNDED_X;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static dev.glimpse.kernels.cuda.CudaTestSupport.withProperties;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The wide cuBLASLt search ({@code -Dglimpse.cuda.ltSearch=wide}, the default): on the prefill products of
 * Llama-7B (LLaVA-1.5-7B) and Qwen2-0.5B at 74 rows its choice computes what the heuristic
 * search's choice computes, up to summation order (split-K); it stays within its time cap; its
 * choice is stored under its own key, so a process with {@code =heuristic} measures its own and a
 * process with the wide search runs the stored wide choice without measuring; timing on rotating weight
 * copies ({@code -Dglimpse.cuda.ltTiming=rotate}) gives right choices, stored apart too. Each
 * "process" is a fresh {@link CudaBackend}.
 */
class CudaLtWideSearchTest {

    private static final int ROWS = 74;

    @TempDir
    Path dir;

    /** A product as the decoder runs it: {@code batch} stacked weights [n, k] sharing x, a bias, or the residual added. */
    private record Product(int batch, int n, int k, boolean bias, boolean residual) {
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"llama-7b q_k_v, 3, 4096, 4096, false, false", "llama-7b o, 1, 4096, 4096, false, false",
            "llama-7b gate_up, 2, 11008, 4096, false, false", "llama-7b down, 1, 4096, 11008, false, true",
            "qwen2-0.5b gate_up, 2, 4864, 896, false, false", "qwen2-0.5b q, 1, 896, 896, true, false"})
    void theWideChoiceComputesWhatTheHeuristicChoiceComputes(String name, int batch, int n, int k, boolean bias,
                                                           boolean residual) {
        cuda(); // skips without a GPU
        Product p = new Product(batch, n, k, bias, residual);
        try (Tensor x = random(201, 1f, DType.BF16, ROWS, k);
             Tensor w = random(202, 0.05f, DType.BF16, batch, n, k);
             Tensor b = random(203, 0.1f, DType.F32, batch, n);
             Tensor r = random(204, 1f, DType.F32, ROWS, n)) {
            Tensor expected = process(Map.of(LtChoiceStore.PROPERTY, "off", LtSearch.PROPERTY, "heuristic"), gpu -> {
                Tensor out = run(gpu, p, x, w, b, r);
                assertNull(gpu.ltLastWideSearch(), "the heuristic search is not wide");
                return out;
            });
            try (expected) {
                Tensor wide = process(Map.of(LtChoiceStore.PROPERTY, "off", LtSearch.PROPERTY, "wide"), gpu -> {
                    Tensor out = run(gpu, p, x, w, b, r);
                    LtWideSearch.Report report = gpu.ltLastWideSearch();
                    assertNotNull(report, "the wide search ran");
                    assertTrue(report.timed() > 0, "it timed configurations beyond the default's: " + report.describe());
                    assertEquals(1, gpu.ltTunings(), "one problem measured");
                    String chosen = gpu.ltChoices().values().iterator().next();
                    System.out.println("WIDE " + name + ": " + report.describe() + "; " + chosen);
                    return out;
                });
                try (wide) {
                    assertClose("wide vs heuristic " + name, expected, wide, ROUNDED_X);
                }
            }
        }
    }

    @Test
    void theWideSearchStaysWithinItsTimeCap() {
        cuda();
        long capMillis = 150;
        Product p = new Product(1, 2048, 5120, false, false); // a shape no other test uses
        try (Tensor x = random(211, 1f, DType.BF16, ROWS, p.k()); Tensor w = random(212, 0.05f, DType.BF16, 1, p.n(), p.k())) {
            process(Map.of(LtChoiceStore.PROPERTY, "off", LtSearch.PROPERTY, "wide", LtSearch.MAX_MILLIS_PROPERTY,
                    Long.toString(capMillis), LtSearch.MAX_CANDIDATES_PROPERTY, "100000"), gpu -> {
                run(gpu, p, x, w, null, null).close();
                LtWideSearch.Report report = gpu.ltLastWideSearch();
                System.out.println("WIDE time cap: " + report.describe());
                // the cap is looked at before each configuration: over by at most one check and timing
                assertTrue(report.elapsedMillis() <= capMillis + 100, report.describe());
                assertTrue(report.timed() > 0, report.describe());
                return null;
            });
        }
    }

    @Test
    void wideChoicesAreStoredApartFromTheHeuristicSearchs() throws IOException {
        cuda();
        Path file = dir.resolve("choices.json");
        Product p = new Product(1, 1536, 3072, false, false); // a shape no other test uses
        Map<String, String> wideProps = Map.of(LtChoiceStore.PROPERTY, file.toString(), LtSearch.PROPERTY, "wide");
        try (Tensor x = random(221, 1f, DType.BF16, ROWS, p.k()); Tensor w = random(222, 0.05f, DType.BF16, 1, p.n(), p.k())) {
            float[] first = values(process(wideProps, gpu -> measured(gpu, p, x, w, 1)));
            List<String> keys = keys(file);
            assertEquals(1, keys.size(), "one entry: " + keys);
            assertTrue(keys.get(0).endsWith(LtSearch.WIDE_KEY_SUFFIX), keys.get(0));

            process(Map.of(LtChoiceStore.PROPERTY, file.toString(), LtSearch.PROPERTY, "heuristic"),
                    gpu -> measured(gpu, p, x, w, 1)).close();
            List<String> both = keys(file);
            assertEquals(2, both.size(), "the heuristic search measured and stored its own: " + both);
            assertTrue(both.contains(keys.get(0).substring(0, keys.get(0).length() - LtSearch.WIDE_KEY_SUFFIX.length())));

            float[] again = values(process(wideProps, gpu -> measured(gpu, p, x, w, 0)));
            assertArrayEquals(first, again, "the stored wide choice runs again: same bits");
        }
    }

    @Test
    void rotationTimedChoicesComputeTheHeuristicValuesAndAreStoredApart() throws IOException {
        cuda();
        Path file = dir.resolve("rotate.json");
        // Llama-7B's o_proj: 32 MiB of weights that the 60 MiB L2 could hold, so 5 rotating copies
        Product o = new Product(1, 4096, 4096, false, true);
        try (Tensor x = random(231, 1f, DType.BF16, ROWS, o.k()); Tensor w = random(232, 0.05f, DType.BF16, 1, o.n(), o.k());
             Tensor r = random(233, 1f, DType.F32, ROWS, o.n())) {
            Tensor expected = process(Map.of(LtChoiceStore.PROPERTY, "off", LtSearch.PROPERTY, "heuristic"),
                    gpu -> run(gpu, o, x, w, null, r));
            try (expected) {
                Tensor rotated = process(Map.of(LtChoiceStore.PROPERTY, file.toString(), LtSearch.TIMING_PROPERTY, "rotate",
                        LtSearch.PROPERTY, "heuristic"), gpu -> {
                            Tensor out = run(gpu, o, x, w, null, r);
                            assertEquals(1, gpu.ltTunings());
                            return out;
                        });
                try (rotated) {
                    assertClose("rotation-timed heuristic search vs flush-timed", expected, rotated, ROUNDED_X);
                }
                Tensor wide = process(Map.of(LtChoiceStore.PROPERTY, file.toString(), LtSearch.TIMING_PROPERTY, "rotate",
                        LtSearch.PROPERTY, "wide"), gpu -> {
                    Tensor out = run(gpu, o, x, w, null, r);
                    assertEquals(1, gpu.ltTunings(), "the rotation-timed heuristic choice is not the wide one");
                    System.out.println("WIDE rotate o_proj: " + gpu.ltLastWideSearch().describe() + "; "
                            + gpu.ltChoices().values().iterator().next());
                    return out;
                });
                try (wide) {
                    assertClose("rotation-timed wide search vs flush-timed heuristic", expected, wide, ROUNDED_X);
                }
            }
            List<String> keys = keys(file);
            assertEquals(2, keys.size(), keys.toString());
            assertTrue(keys.stream().anyMatch(k -> k.endsWith(LtSearch.WIDE_KEY_SUFFIX + LtSearch.ROTATE_KEY_SUFFIX)), keys.toString());
            assertTrue(keys.stream().anyMatch(k -> k.endsWith(LtSearch.ROTATE_KEY_SUFFIX) && !k.contains(LtSearch.WIDE_KEY_SUFFIX)),
                    keys.toString());
        }
    }

    /** The product on {@code gpu}, expecting {@code measurements} measurements; its output. */
    private static Tensor measured(CudaBackend gpu, Product p, Tensor x, Tensor w, int measurements) {
        Tensor out = run(gpu, p, x, w, null, null);
        assertEquals(measurements, gpu.ltTunings());
        return out;
    }

    /** {@code body}'s result on a fresh backend made with {@code properties} set (restored after). */
    private static Tensor process(Map<String, String> properties, Function<CudaBackend, Tensor> body) {
        return withProperties(properties, () -> {
            try (CudaBackend gpu = CudaBackend.open(new CudaOptions(0, 0))) {
                try (Tensor device = body.apply(gpu)) {
                    return device == null ? null : gpu.download(device);
                }
            }
        });
    }

    /**
     * Runs product p twice (the first call measures, the second runs the choice) on x and the host
     * weights w [batch, n, k]; the device output of the second call: [batch, rows, n] for a stack,
     * [rows, n] for a single product.
     */
    private static Tensor run(CudaBackend gpu, Product p, Tensor x, Tensor w, Tensor bias, Tensor residual) {
        try (Tensor gx = gpu.upload(x); Tensor gw = gpu.upload(w); Tensor gb = p.bias() ? gpu.upload(bias) : null;
             Tensor gr = p.residual() ? gpu.upload(residual) : null) {
            Tensor out = p.batch() > 1 ? gpu.allocate(DType.F32, p.batch(), ROWS, p.n()) : gpu.allocate(DType.F32, ROWS, p.n());
            for (int call = 0; call < 2; call++) {
                if (p.batch() > 1) {
                    gpu.linearStack(gx, gw, gb, out);
                } else if (p.residual()) {
                    gpu.linearAddResidual(gx, gw.select(0, 0), null, gr, out);
                } else {
                    gpu.linear(gx, gw.select(0, 0), gb == null ? null : gb.select(0, 0), out);
                }
            }
            gpu.synchronize();
            return out;
        }
    }

    private static float[] values(Tensor host) {
        try (host) {
            return host.toFloatArray();
        }
    }

    private static List<String> keys(Path file) throws IOException {
        JsonNode entries = new ObjectMapper().readTree(file.toFile()).get("entries");
        List<String> keys = new ArrayList<>();
        entries.fieldNames().forEachRemaining(keys::add);
        return keys;
    }
}
