package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.NormRowsVariant;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static dev.glimpse.vlmruntime.decoder.DecoderFixture.maxAbsDiff;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * GPU-only (skipped without CUDA): the LayerNorm / RMSNorm row kernels switched to the staged ones
 * ({@code -Dglimpse.cuda.normRows=staged}, {@link NormRowsVariant#STAGED}), or chosen by {@code auto} (the default),
 * leave a model's outputs bit for bit as the {@code v4} kernels give them, on one CUDA backend: the bf16 LLaVA fixture end to end (its CLIP
 * tower's LayerNorms and its decoder's RMSNorms; prepare, prefill, 8 greedy steps with HF's tokens fed back) and
 * synthetic BF16 Llama (multi-head) and Qwen2 (grouped-query) decoders at LLaVA-7B's prompt sizes (74 and 586
 * rows), each a prefill (graph-captured) then two decode steps. The kernels store the same bits, and every other
 * kernel and GEMM sees the same inputs in the same buffers, so the logits must be identical.
 */
class CudaNormRowsModelTest {

    @TempDir
    Path dir;

    @Test
    void llavaFixtureLogitsAreTheSameWithStagedNorms() throws IOException {
        CudaSupport.requireCuda();
        String name = "llava-clip-llama-bf16";
        Path folder = DecoderFixture.folder(name);
        JsonNode c = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases").get(0);
        int[] hfGreedy = ints(c.get("greedy_ids"));
        try (VisionLanguageModel model = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.CUDA))) {
            float[][] v4 = withVariant(NormRowsVariant.V4, () -> LogitSteps.llavaSteps(model.llava(), c, folder, hfGreedy));
            for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.STAGED, NormRowsVariant.AUTO}) {
                assertSameLogits(name, variant, v4, withVariant(variant, () -> LogitSteps.llavaSteps(model.llava(), c, folder, hfGreedy)));
            }
        }
    }

    @ParameterizedTest(name = "{0} rows={1}")
    @CsvSource({"llama, 74", "llama, 586", "qwen2, 74", "qwen2, 586"})
    void promptSizedPrefillLogitsAreTheSameWithStagedNorms(String family, int rows) {
        CudaSupport.requireCuda();
        Path folder = SyntheticDecoders.write(dir, family + "-bf16", family, 17, 1024);
        int[] ids = new int[rows + 2];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = (i * 43 + 7) % SyntheticDecoders.VOCAB;
        }
        try (Backend backend = Backends.create(Backends.Choice.CUDA)) {
            float[][] v4 = withVariant(NormRowsVariant.V4, () -> LogitSteps.decoderSteps(backend, folder, ids));
            for (NormRowsVariant variant : new NormRowsVariant[] {NormRowsVariant.STAGED, NormRowsVariant.AUTO}) {
                assertSameLogits(family + "-" + rows, variant, v4, withVariant(variant, () -> LogitSteps.decoderSteps(backend, folder, ids)));
            }
        }
    }

    private static void assertSameLogits(String label, NormRowsVariant variant, float[][] v4, float[][] other) {
        for (int step = 0; step < v4.length; step++) {
            System.out.printf("GPU-PARITY norm-rows %s %s step %d: max|%s-v4| %.3g%n", label, variant.id(), step,
                    variant.id(), maxAbsDiff(other[step], v4[step]));
            assertArrayEquals(v4[step], other[step], label + " step " + step + ": logits with " + variant.id() + " vs v4 norms");
        }
    }

    /** body's result under {@code -Dglimpse.cuda.normRows=<variant>}, the property restored after. */
    private static <T> T withVariant(NormRowsVariant variant, Supplier<T> body) {
        String previous = System.getProperty(NormRowsVariant.PROPERTY);
        System.setProperty(NormRowsVariant.PROPERTY, variant.id());
        try {
            return body.get();
        } finally {
            if (previous == null) {
                System.clearProperty(NormRowsVariant.PROPERTY);
            } else {
                System.setProperty(NormRowsVariant.PROPERTY, previous);
            }
        }
    }
}
