package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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

    @ParameterizedTest
    @ValueSource(strings = {"decoder-qwen2-bf16", "decoder-llama-bf16"})
    void prefillAndDecodeGiveTheBitsOfF32InputsRoundedByTheGemm(String fixture) throws Exception {
        Path folder = DecoderFixture.folder(fixture);
        TextConfig config = TextConfig.load(folder.resolve("config.json"));
        AtomicInteger halfX = new AtomicInteger();
        try (Checkpoint checkpoint = Checkpoint.open(folder); CpuBackend cpu = new CpuBackend();
             DecoderFixture f = DecoderFixture.open(fixture)) {
            int[] ids = f.inputIds();
            float[][] reference = run(Decoder.load(gemmRounding(cpu, false, halfX), checkpoint, config), ids);
            assertEquals(0, halfX.get(), "the reference run gave linear 16-bit x");
            float[][] half = run(Decoder.load(gemmRounding(cpu, true, halfX), checkpoint, config), ids);
            assertEquals(6 * config.numHiddenLayers(), halfX.get(), "16-bit x reached linear " + halfX.get() + " times");
            assertArrayEquals(reference[0], half[0], "prefill logits");
            assertArrayEquals(reference[1], half[1], "decode-step logits");
        }
    }

    /** Logits after prefilling all but the last id, then after decoding the last one. */
    private static float[][] run(Decoder decoder, int[] ids) {
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64))) {
            session.prefill(Arrays.copyOf(ids, ids.length - 1));
            float[] prefill = session.logits().toFloatArray();
            session.decode(ids[ids.length - 1]);
            return new float[][] {prefill, session.logits().toFloatArray()};
        }
    }

    /**
     * The CPU backend with CUDA's GEMM rounding: linear with F16/BF16 weights rounds F32 x of more
     * than 8 rows to the weights' dtype; {@code halfActivationsForGemm} answers {@code asks} for those
     * rows. Counts linear calls whose x arrives 16-bit. (The vision-encoder's HalfGemmInputsTest uses
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
                    try {
                        return method.invoke(cpu, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
