package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/**
 * SpAtten head pruning in the decoder (decoder-llama fixture: 3 layers, 4 query heads over 2 kv
 * heads, 23 prompt tokens): the per-head output magnitudes a hook receives, and head masks in
 * prefill and decode.
 */
class HeadPruningTest {

    private static final int CHUNK = 5;

    /** The attention outputs [T, Hq, D] of every attention call, in call order. */
    private final List<float[]> outputs = new ArrayList<>();

    @Test
    void capturedHeadOutputL1IsEachHeadsAbsoluteOutputSummedOverThePrefillsQueries() {
        try (DecoderFixture fixture = DecoderFixture.open("decoder-llama");
             Decoder decoder = recording(fixture)) {
            int[] ids = fixture.inputIds();
            int layers = decoder.config().numHiddenLayers();
            int heads = decoder.config().numAttentionHeads();
            int d = decoder.config().headDim();
            float[][] captured = new float[layers][];
            PruningHook hook = new PruningHook() {
                @Override
                public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
                    return Optional.of(new AttentionRequest(new int[0], false, true));
                }

                @Override
                public int[] keep(LayerAttention attention) {
                    captured[attention.layer()] = attention.headOutputL1().toFloatArray();
                    return all(attention.activeTokens().length);
                }
            };
            try (DecoderSession session = decoder.newSession(SessionOptions.of(64).withPrefillChunkSize(CHUNK));
                 Tensor e = decoder.embed(ids)) {
                session.prefill(e, session.consecutivePositions(ids.length), hook);
            }
            int chunks = (ids.length + CHUNK - 1) / CHUNK;
            assertEquals(layers * chunks, outputs.size());
            for (int l = 0; l < layers; l++) {
                double[] expected = new double[heads];
                for (int c = 0; c < chunks; c++) {
                    float[] out = outputs.get(l * chunks + c);
                    for (int h = 0; h < heads; h++) {
                        double sum = 0;
                        for (int t = 0; t < out.length / (heads * d); t++) {
                            for (int i = 0; i < d; i++) {
                                sum += Math.abs(out[(t * heads + h) * d + i]);
                            }
                        }
                        expected[h] += sum;
                    }
                }
                for (int h = 0; h < heads; h++) {
                    assertEquals(expected[h], captured[l][h], 1e-5 * expected[h], "layer " + l + " head " + h);
                }
            }
        }
    }

    @Test
    void maskedHeadsOutputZeroFromTheirLayerOnInPrefillAndDecodeAndOtherHeadsRun() {
        try (DecoderFixture fixture = DecoderFixture.open("decoder-llama");
             Decoder decoder = recording(fixture)) {
            int[] ids = fixture.inputIds();
            int heads = decoder.config().numAttentionHeads();
            int d = decoder.config().headDim();
            boolean[] mask = {true, false, true, false};
            float[] plain = logits(decoder, ids, null);
            outputs.clear();
            float[] pruned = logits(decoder, ids, new MaskFrom(1, mask));
            assertFalse(Arrays.equals(plain, pruned), "switching heads off must change the logits");
            int layers = decoder.config().numHiddenLayers();
            // one call per layer in the prefill (23 <= chunk 64), then one per layer in the decode step
            assertEquals(2 * layers, outputs.size());
            for (int call = 0; call < outputs.size(); call++) {
                int layer = call % layers;
                float[] out = outputs.get(call);
                for (int h = 0; h < heads; h++) {
                    boolean off = layer >= 1 && !mask[h];
                    double sum = 0;
                    for (int t = 0; t < out.length / (heads * d); t++) {
                        for (int i = 0; i < d; i++) {
                            float x = out[(t * heads + h) * d + i];
                            if (off) {
                                assertEquals(0, Float.floatToRawIntBits(x), "layer " + layer + " head " + h);
                            }
                            sum += Math.abs(x);
                        }
                    }
                    if (!off) {
                        assertNotEquals(0.0, sum, "layer " + layer + " head " + h + " must run");
                    }
                }
            }
        }
    }

    @Test
    void headsPerLayerCountsTheHeadsThatRunAndMasksNeverReviveAHead() {
        try (DecoderFixture fixture = DecoderFixture.open("decoder-llama");
             DecoderSession session = fixture.decoder().newSession(SessionOptions.of(64))) {
            int[] ids = fixture.inputIds();
            try (Tensor first = fixture.decoder().embed(Arrays.copyOf(ids, 10))) {
                PrefillResult r = session.prefill(first, session.consecutivePositions(10),
                        new MaskFrom(1, new boolean[] {true, false, true, true}));
                assertArrayEquals(new int[] {4, 3, 3}, r.headsPerLayer());
            }
            try (Tensor rest = fixture.decoder().embed(Arrays.copyOfRange(ids, 10, ids.length))) {
                PrefillResult r = session.prefill(rest, session.consecutivePositions(ids.length - 10),
                        new MaskFrom(2, new boolean[] {true, true, false, true}));
                assertArrayEquals(new int[] {4, 3, 2}, r.headsPerLayer());
            }
        }
    }

    /** All heads active is bit-identical to no mask, through decode. */
    @Test
    void allHeadsActiveIsBitIdenticalToNoHeadPruning() {
        try (DecoderFixture fixture = DecoderFixture.open("decoder-llama")) {
            int[] ids = fixture.inputIds();
            float[] plain = logits(fixture.decoder(), ids, null);
            float[] hooked = logits(fixture.decoder(), ids, new MaskFrom(0, new boolean[] {true, true, true, true}));
            assertArrayEquals(plain, hooked, 0f);
        }
    }

    /** Logits after the prefill of ids and one greedy decode step, concatenated. */
    private static float[] logits(Decoder decoder, int[] ids, PruningHook hook) {
        try (DecoderSession session = decoder.newSession(SessionOptions.of(64));
             Tensor e = decoder.embed(ids)) {
            session.prefill(e, session.consecutivePositions(ids.length), hook);
            float[] prefill = session.logits().toFloatArray();
            session.decode(session.greedyToken());
            float[] step = session.logits().toFloatArray();
            float[] out = Arrays.copyOf(prefill, prefill.length + step.length);
            System.arraycopy(step, 0, out, prefill.length, step.length);
            return out;
        }
    }

    private static int[] all(int n) {
        int[] out = new int[n];
        Arrays.setAll(out, i -> i);
        return out;
    }

    /** Keeps every token; runs only {@code mask}'s heads from layer {@code from} on. */
    private record MaskFrom(int from, boolean[] mask) implements PruningHook {
        @Override
        public Optional<AttentionRequest> before(int layer, int[] activeTokens) {
            return Optional.empty();
        }

        @Override
        public int[] keep(LayerAttention attention) {
            return all(attention.activeTokens().length);
        }

        @Override
        public boolean[] activeHeads(int layer) {
            return layer >= from ? mask.clone() : null;
        }
    }

    /** The fixture's decoder on a CPU backend that records every attention output. */
    private Decoder recording(DecoderFixture fixture) {
        CpuBackend cpu = new CpuBackend();
        Backend backend = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> {
                    try {
                        Object result = method.invoke(cpu, args);
                        if (method.getName().equals("attention") && args.length == 9) {
                            outputs.add(((Tensor) args[5]).toFloatArray());
                        }
                        return result;
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        return Decoder.load(backend, fixture.checkpoint(), fixture.decoder().config());
    }
}
