package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A BF16 decoder on a backend that asks for 16-bit GEMM inputs (prefill blocks of more than 8 rows)
 * computes exactly what it computes with F32 inputs that the GEMM rounds itself, and its decode
 * steps (one row) keep F32 inputs: checked on the CPU with a backend that rounds x of more than 8
 * rows to the weights' dtype inside linear, as CUDA's GEMM does.
 */
class HalfGemmInputsDecoderTest {

    @ParameterizedTest(name = "{0}, prefill chunk {1}")
    @CsvSource({"decoder-qwen2-bf16, 0", "decoder-llama-bf16, 0", "decoder-qwen2-bf16, 16"})
    void prefillAndDecodeGiveTheBitsOfF32InputsRoundedByTheGemm(String fixture, int chunk) throws Exception {
        Path folder = DecoderFixture.folder(fixture);
        TextConfig config = TextConfig.load(folder.resolve("config.json"));
        AtomicInteger halfX = new AtomicInteger();
        try (Checkpoint checkpoint = Checkpoint.open(folder); CpuBackend cpu = new CpuBackend();
             DecoderFixture f = DecoderFixture.open(fixture)) {
            int[] ids = f.inputIds();
            SessionOptions options = chunk == 0 ? SessionOptions.of(64) : SessionOptions.of(64).withPrefillChunkSize(chunk);
            float[][] reference = run(Decoder.load(gemmRounding(cpu, false, halfX), checkpoint, config), ids, options);
            assertEquals(0, halfX.get(), "the reference run gave linear 16-bit x");
            float[][] half = run(Decoder.load(gemmRounding(cpu, true, halfX), checkpoint, config), ids, options);
            // 22 prompt rows: one 16-bit block, or with chunks of 16 one 16-bit block and an F32 tail of 6
            assertEquals(6 * config.numHiddenLayers(), halfX.get(), "16-bit x reached linear " + halfX.get() + " times");
            assertArrayEquals(reference[0], half[0], "prefill logits");
            assertArrayEquals(reference[1], half[1], "decode-step logits");
        }
    }

    /** Logits after prefilling all but the last id, then after decoding the last one. */
    private static float[][] run(Decoder decoder, int[] ids, SessionOptions options) {
        try (DecoderSession session = decoder.newSession(options)) {
            session.prefill(Arrays.copyOf(ids, ids.length - 1));
            float[] prefill = session.logits().toFloatArray();
            session.decode(ids[ids.length - 1]);
            return new float[][] {prefill, session.logits().toFloatArray()};
        }
    }

    /**
     * The CPU backend with CUDA's GEMM rounding: linear with F16/BF16 weights rounds F32 x of more
     * than 8 rows to the weights' dtype; {@code halfActivationsForGemm} answers {@code asks} for those
     * rows. Counts linear calls whose x arrives 16-bit (those of the linearAddResidual and
     * linearStack defaults included). (The vision-encoder's HalfGemmInputsTest uses
     * the same double.)
     */
    private static Backend gemmRounding(CpuBackend cpu, boolean asks, AtomicInteger halfX) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("halfActivationsForGemm")) {
                        return asks && (int) args[0] > 8;
                    }
                    if (method.getName().equals("linear")) {
                        Tensor x = (Tensor) args[0];
                        Tensor w = (Tensor) args[1];
                        int rows = (int) (x.numel() / Math.max(1, x.dim(-1)));
                        if (x.dtype() != DType.F32) {
                            halfX.incrementAndGet();
                        } else if (w.dtype() != DType.F32 && rows > 8) {
                            try (Tensor narrow = Tensor.allocate(w.dtype(), x.shape())) {
                                x.copyElementsTo(narrow);
                                cpu.linear(narrow, w, (Tensor) args[2], (Tensor) args[3]);
                            }
                            return null;
                        }
                    }
                    if (method.getName().equals("linearAddResidual") || method.getName().equals("linearStack")) {
                        // Backend's defaults, run on this double so that their products pass through linear above
                        return InvocationHandler.invokeDefault(proxy, method, args);
                    }
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
