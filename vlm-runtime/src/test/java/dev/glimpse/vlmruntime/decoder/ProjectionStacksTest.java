package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * Fused projections' layout: the stacks over the q/k/v and gate/up concatenations, the decoder
 * scratch whose stacked views are q, k, v, gate and up, and the prefill projections run through
 * the stacks, which must give the bits of the separate products (on the CPU, where
 * {@code linearStack} is one {@code linear} per weight). The CUDA batched product is checked
 * against its separate products by CudaLinearStackTest and the model by CudaFusedProjectionsTest.
 */
class ProjectionStacksTest {

    private static final int HIDDEN = 64;
    private static final int HEAD_DIM = 16;
    private static final int INTER = 96;

    @TempDir
    Path dir;

    @Test
    void multiHeadAttentionStacksQkvAsThree() {
        try (Tensor whole = Tensor.allocate(DType.BF16, 3 * 64, HIDDEN); Tensor bias = Tensor.allocate(DType.BF16, 3 * 64);
             Tensor gateUp = Tensor.allocate(DType.BF16, 2 * INTER, HIDDEN)) {
            ProjectionStacks s = ProjectionStacks.of(whole, bias, true, 64, 64, gateUp, null, false);
            assertArrayEquals(new int[] {3, 64, HIDDEN}, s.qkv().shape());
            assertArrayEquals(new int[] {3, 64}, s.qkvBias().shape());
            assertNull(s.kv());
            assertEquals(address(whole.slice(0, 64, 128)), address(s.qkv().select(0, 1)), "k is the second block");
            assertEquals(address(bias.slice(0, 128, 192)), address(s.qkvBias().select(0, 2)), "v's bias is the third");
            assertArrayEquals(new int[] {2, INTER, HIDDEN}, s.gateUp().shape());
            assertEquals(address(gateUp.slice(0, INTER, 2 * INTER)), address(s.gateUp().select(0, 1)), "up follows gate");
            assertNull(s.gateUpBias());
        }
    }

    @Test
    void groupedQueryAttentionStacksKvAfterQ() {
        try (Tensor whole = Tensor.allocate(DType.BF16, 64 + 2 * 32, HIDDEN); Tensor bias = Tensor.allocate(DType.BF16, 128)) {
            ProjectionStacks s = ProjectionStacks.of(whole, bias, true, 64, 32, null, null, false);
            assertNull(s.qkv());
            assertArrayEquals(new int[] {2, 32, HIDDEN}, s.kv().shape());
            assertEquals(address(whole.slice(0, 64, 96)), address(s.kv().select(0, 0)));
            assertEquals(address(whole.slice(0, 96, 128)), address(s.kv().select(0, 1)));
            assertEquals(address(bias.slice(0, 96, 128)), address(s.kvBias().select(0, 1)));
            assertNull(s.gateUp());
        }
    }

    @Test
    void biasedProjectionsWithoutAConcatenatedBiasGetNoStack() {
        try (Tensor whole = Tensor.allocate(DType.BF16, 3 * 64, HIDDEN); Tensor gateUp = Tensor.allocate(DType.BF16, 2 * INTER, HIDDEN)) {
            ProjectionStacks s = ProjectionStacks.of(whole, null, true, 64, 64, gateUp, null, true);
            assertNull(s.qkv());
            assertNull(s.kv());
            assertNull(s.gateUp());
        }
    }

    @ParameterizedTest(name = "kv heads {0}")
    @CsvSource({"4", "2"})
    void scratchStacksAreTheSeparateBuffers(int kvHeads) throws IOException {
        TextConfig config = config(kvHeads, false);
        try (CpuBackend cpu = new CpuBackend(); DecoderScratch scratch = new DecoderScratch(cpu, config, 12, DType.F32)) {
            ScratchRows s = scratch.rows(7);
            if (kvHeads == 4) {
                assertArrayEquals(new int[] {3, 7, 64}, s.qkv().shape());
                assertEquals(address(s.q()), address(s.qkv().select(0, 0)));
            } else {
                assertNull(s.qkv());
            }
            assertArrayEquals(new int[] {2, 7, kvHeads * HEAD_DIM}, s.kv().shape());
            assertEquals(address(s.k()), address(s.kv().select(0, 0)));
            assertEquals(address(s.v()), address(s.kv().select(0, 1)));
            assertArrayEquals(new int[] {2, 7, INTER}, s.gateUp().shape());
            assertEquals(address(s.gate()), address(s.gateUp().select(0, 0)));
            assertEquals(address(s.up()), address(s.gateUp().select(0, 1)));
        }
    }

    @Test
    void theMlpAddsTheResidualAsTheSeparateAddDid() throws IOException {
        TextConfig config = config(4, true);
        int n = 10;
        try (CpuBackend cpu = new CpuBackend();
             Tensor gate = random(21, INTER, HIDDEN); Tensor up = random(22, INTER, HIDDEN); Tensor down = random(23, HIDDEN, INTER);
             Tensor downBias = random(24, HIDDEN); Tensor x = random(25, DType.F32, n, HIDDEN);
             Tensor residual = random(26, DType.F32, n, HIDDEN);
             Tensor out = Tensor.allocate(DType.F32, n, HIDDEN);
             Tensor activated = Tensor.allocate(DType.F32, n, INTER); Tensor g = Tensor.allocate(DType.F32, n, INTER);
             Tensor u = Tensor.allocate(DType.F32, n, INTER); Tensor projected = Tensor.allocate(DType.F32, n, HIDDEN);
             Tensor expected = Tensor.allocate(DType.F32, n, HIDDEN);
             DecoderScratch scratch = new DecoderScratch(cpu, config, n, DType.F32)) {
            LayerWeights w = new LayerWeights(null, null, null, null, null, null, null, null, null, null, gate, null, up, null,
                    down, downBias);
            Activation silu = Activation.fromHfName("silu");
            cpu.linear(x, gate, null, g);
            cpu.linear(x, up, null, u);
            cpu.gatedActivation(silu, g, u, activated);
            cpu.linear(activated, down, downBias, projected);
            cpu.add(residual, projected, expected);
            ScratchRows s = scratch.rows(n);
            cpu.copy(x, s.normed());
            cpu.copy(residual, s.residual());
            new MlpBlock(w, silu).forward(cpu, s, out);
            assertArrayEquals(expected.toFloatArray(), out.toFloatArray());
            assertArrayEquals(residual.toFloatArray(), s.residual().toFloatArray(), "the residual stream is read, not written");
        }
    }

    @ParameterizedTest(name = "kv heads {0}, biases {1}")
    @CsvSource({"4, false", "4, true", "2, false", "2, true"})
    void stackedProjectionsGiveTheBitsOfSeparateOnes(int kvHeads, boolean biases) throws IOException {
        TextConfig config = config(kvHeads, biases);
        int qWidth = 4 * HEAD_DIM;
        int kvWidth = kvHeads * HEAD_DIM;
        int n = 11;
        try (CpuBackend cpu = new CpuBackend();
             Tensor qkvWhole = random(1, qWidth + 2 * kvWidth, HIDDEN);
             Tensor qkvBias = random(2, qWidth + 2 * kvWidth);
             Tensor gateUpWhole = random(3, 2 * INTER, HIDDEN);
             Tensor gateUpBias = random(4, 2 * INTER);
             Tensor o = random(5, HIDDEN, qWidth);
             Tensor down = random(6, HIDDEN, INTER);
             Tensor norm = random(7, HIDDEN);
             Tensor x = random(8, DType.F32, n, HIDDEN);
             Tensor cos = random(9, DType.F32, n, HEAD_DIM / 2);
             Tensor sin = random(10, DType.F32, n, HEAD_DIM / 2);
             Tensor residual = random(11, DType.F32, n, HIDDEN);
             Tensor outA = Tensor.allocate(DType.F32, n, HIDDEN);
             Tensor outB = Tensor.allocate(DType.F32, n, HIDDEN);
             DecoderScratch stackedScratch = new DecoderScratch(cpu, config, n, DType.F32);
             DecoderScratch separateScratch = new DecoderScratch(cpu, config, n, DType.F32)) {
            Tensor q = copy(qkvWhole.slice(0, 0, qWidth));
            Tensor k = copy(qkvWhole.slice(0, qWidth, qWidth + kvWidth));
            Tensor v = copy(qkvWhole.slice(0, qWidth + kvWidth, qWidth + 2 * kvWidth));
            Tensor qb = biases ? copy(qkvBias.slice(0, 0, qWidth)) : null;
            Tensor kb = biases ? copy(qkvBias.slice(0, qWidth, qWidth + kvWidth)) : null;
            Tensor vb = biases ? copy(qkvBias.slice(0, qWidth + kvWidth, qWidth + 2 * kvWidth)) : null;
            Tensor gate = copy(gateUpWhole.slice(0, 0, INTER));
            Tensor up = copy(gateUpWhole.slice(0, INTER, 2 * INTER));
            Tensor gb = biases ? copy(gateUpBias.slice(0, 0, INTER)) : null;
            Tensor ub = biases ? copy(gateUpBias.slice(0, INTER, 2 * INTER)) : null;
            LayerWeights separate = new LayerWeights(norm, q, qb, k, kb, v, vb, o, null, norm, gate, gb, up, ub, down, null);
            ProjectionStacks stacks = ProjectionStacks.of(qkvWhole, biases ? qkvBias : null, biases, qWidth, kvWidth,
                    gateUpWhole, biases ? gateUpBias : null, biases);
            LayerWeights stacked = new LayerWeights(norm, qkvWhole.slice(0, 0, qWidth), qb, qkvWhole.slice(0, qWidth, qWidth + kvWidth),
                    kb, qkvWhole.slice(0, qWidth + kvWidth, qWidth + 2 * kvWidth), vb, o, null, norm,
                    gateUpWhole.slice(0, 0, INTER), gb, gateUpWhole.slice(0, INTER, 2 * INTER), ub, down, null, stacks);
            assertEquals(kvHeads == 4, stacks.qkv() != null);

            ScratchRows a = separateScratch.rows(n);
            ScratchRows b = stackedScratch.rows(n);
            cpu.copy(x, a.normed());
            cpu.copy(x, b.normed());
            new AttentionBlock(0, separate, 4, kvHeads, HEAD_DIM).project(cpu, a, cos, sin);
            new AttentionBlock(0, stacked, 4, kvHeads, HEAD_DIM).project(cpu, b, cos, sin);
            assertArrayEquals(a.q().toFloatArray(), b.q().toFloatArray(), "q after RoPE");
            assertArrayEquals(a.k().toFloatArray(), b.k().toFloatArray(), "k after RoPE");
            assertArrayEquals(a.v().toFloatArray(), b.v().toFloatArray(), "v");

            Activation silu = Activation.fromHfName("silu");
            cpu.copy(residual, a.residual());
            cpu.copy(residual, b.residual());
            new MlpBlock(separate, silu).forward(cpu, a, outA);
            new MlpBlock(stacked, silu).forward(cpu, b, outB);
            assertArrayEquals(a.gate().toFloatArray(), b.gate().toFloatArray(), "gate");
            assertArrayEquals(a.up().toFloatArray(), b.up().toFloatArray(), "up");
            assertArrayEquals(outA.toFloatArray(), outB.toFloatArray(), "residual + down_proj output");
        }
    }

    private TextConfig config(int kvHeads, boolean biases) throws IOException {
        Path json = dir.resolve("config-" + kvHeads + "-" + biases + ".json");
        Files.writeString(json, """
                {"model_type": "llama", "vocab_size": 32, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": %d,
                 "attention_bias": %b, "mlp_bias": %b, "hidden_act": "silu"}
                """.formatted(HIDDEN, INTER, kvHeads, biases, biases));
        return TextConfig.load(json);
    }

    private static long address(Tensor t) {
        return t.segment().address() + t.byteOffset();
    }

    private static Tensor copy(Tensor t) {
        Tensor c = Tensor.allocate(t.dtype(), t.shape());
        t.copyElementsTo(c);
        return c;
    }

    private static Tensor random(long seed, int... shape) {
        return random(seed, DType.BF16, shape);
    }

    private static Tensor random(long seed, DType dtype, int... shape) {
        SplittableRandom r = new SplittableRandom(seed);
        Tensor t = Tensor.allocate(dtype, shape);
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextDouble(-0.5, 0.5);
        }
        t.copyFrom(v);
        return t;
    }
}
