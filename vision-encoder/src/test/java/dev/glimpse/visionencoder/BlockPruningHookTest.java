package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockPruningHookTest {

    /** Keeps every other current row after each listed layer, without asking for [CLS] explicitly. */
    private record EveryOtherRow(List<Integer> layers, List<BlockPruningHook.BlockOutput> seen) implements BlockPruningHook {
        EveryOtherRow(Integer... layers) {
            this(List.of(layers), new ArrayList<>());
        }

        @Override
        public KeepSet afterBlock(BlockOutput block) {
            seen.add(block);
            if (!layers.contains(block.layer())) {
                return KeepSet.all();
            }
            return KeepSet.rows(IntStream.range(0, block.tokens().length).filter(r -> r % 2 == 1).toArray());
        }
    }

    private static void assertBitIdentical(Tensor expected, Tensor actual) {
        assertArrayEquals(expected.shape(), actual.shape());
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        for (int i = 0; i < e.length; i++) {
            assertEquals(Float.floatToRawIntBits(e[i]), Float.floatToRawIntBits(a[i]), "element " + i);
        }
    }

    @Test
    void keepAllHookGivesBitIdenticalFeatures() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 11)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.of(List.of(-2, 1), "default")).withPooled();
            try (VisionOutput plain = t.encoder.encode(pixels, request);
                 VisionOutput hooked = t.encoder.encode(pixels, request.withPruning(block -> KeepSet.all()))) {
                assertBitIdentical(plain.stackedFeatures(), hooked.stackedFeatures());
                assertBitIdentical(plain.image(0).pooled(), hooked.image(0).pooled());
                assertArrayEquals(plain.image(0).featureTokens(), hooked.image(0).featureTokens());
            }
        }
    }

    @Test
    void withAHookEachImageOfABatchIsEncodedAsIfAlone() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(2, 10)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.llava15());
            try (VisionOutput hooked = t.encoder.encode(pixels, request.withPruning(block -> KeepSet.all()))) {
                for (int b = 0; b < 2; b++) {
                    try (VisionOutput alone = t.encoder.encode(pixels.slice(0, b, b + 1), request)) {
                        assertBitIdentical(alone.image(0).features(), hooked.image(b).features());
                    }
                }
            }
        }
    }

    @Test
    void droppingTokensShrinksTheFeaturesAndKeepsCls() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 12)) {
            EveryOtherRow hook = new EveryOtherRow(0);
            VisionRequest request = VisionRequest.features(FeatureSelection.of(-1, "full")).withPruning(hook);
            try (VisionOutput out = t.encoder.encode(pixels, request)) {
                EncodedImage image = out.image(0);
                // 17 tokens: [CLS] plus the 8 odd rows survive block 0
                assertArrayEquals(new int[] {0, 1, 3, 5, 7, 9, 11, 13, 15}, image.featureTokens());
                assertArrayEquals(new int[] {9, 32}, image.features().shape());
                assertEquals(3, hook.seen().size(), "called after blocks 0..2 of 4, not after the last");
                assertArrayEquals(image.featureTokens(), hook.seen().get(1).tokens());
                assertTrue(hook.seen().get(0).hasClassToken());
            }
        }
    }

    @Test
    void prunedTokensNeverComeBackInACascade() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 13)) {
            EveryOtherRow hook = new EveryOtherRow(0, 1);
            try (VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.of(-1, "default"))
                    .withPruning(hook))) {
                // after block 0: 0,1,3,...,15 (9 rows); after block 1 keep odd rows of those plus [CLS]
                assertArrayEquals(new int[] {1, 5, 9, 13}, out.image(0).featureTokens());
                assertArrayEquals(new int[] {4, 32}, out.image(0).features().shape());
            }
        }
    }

    @Test
    void hiddenStateOfThePruningLayerIsRecordedBeforePruning() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 14)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.of(1, "full")).withHiddenStates().withLastHiddenState();
            try (VisionOutput plain = t.encoder.encode(pixels, request);
                 VisionOutput pruned = t.encoder.encode(pixels, request.withPruning(new EveryOtherRow(0)))) {
                assertBitIdentical(plain.image(0).hiddenStates().get(1), pruned.image(0).hiddenStates().get(1));
                assertArrayEquals(new int[] {9, 32}, pruned.image(0).lastHiddenState().shape());
            }
        }
    }

    @Test
    void featuresOfSeveralLayersKeepTheTokensOfTheDeepest() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 15)) {
            VisionRequest request = VisionRequest.features(FeatureSelection.of(List.of(1, 3), "default")).withHiddenStates();
            try (VisionOutput out = t.encoder.encode(pixels, request.withPruning(new EveryOtherRow(1)))) {
                EncodedImage image = out.image(0);
                int[] tokens = image.featureTokens();
                assertArrayEquals(new int[] {1, 3, 5, 7, 9, 11, 13, 15}, tokens);
                Tensor layer1 = image.hiddenStates().get(1);
                for (int i = 0; i < tokens.length; i++) {
                    for (int d = 0; d < 32; d++) {
                        assertEquals(layer1.get(tokens[i], d), image.features().get(i, d));
                    }
                }
            }
        }
    }

    @Test
    void imagesOfABatchArePrunedIndependently() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(2, 16)) {
            BlockPruningHook keepFewerForTheSecond = new BlockPruningHook() {
                private int calls;

                @Override
                public KeepSet afterBlock(BlockOutput block) {
                    return calls++ == 0 ? KeepSet.rows(1, 2, 3, 4, 5) : KeepSet.all();
                }
            };
            try (VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.llava15())
                    .withPruning(keepFewerForTheSecond))) {
                assertEquals(5, out.image(0).featureTokens().length);
                assertEquals(16, out.image(1).featureTokens().length);
                assertNull(out.stackedFeatures());
            }
        }
    }

    @Test
    void hookReceivesTheTapsItAsksFor() {
        List<LayerTaps> received = new ArrayList<>();
        BlockPruningHook byClsAttention = new BlockPruningHook() {
            @Override
            public VisionTaps taps() {
                return VisionTaps.of(EnumSet.of(VisionTaps.Tap.CLS_ATTENTION, VisionTaps.Tap.HEAD_OUTPUT_NORMS), 0);
            }

            @Override
            public KeepSet afterBlock(BlockOutput block) {
                if (block.taps() == null) {
                    return KeepSet.all();
                }
                received.add(block.taps());
                Tensor cls = block.taps().clsAttention();
                int n = cls.dim(1);
                return KeepSet.rows(IntStream.range(1, n).filter(j -> cls.get(0, j) > 1.0 / n).toArray());
            }
        };
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 17);
             VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.of(-1, "full"))
                     .withPruning(byClsAttention))) {
            assertEquals(1, received.size());
            assertNotNull(received.get(0).headOutputNorms());
            assertEquals(0, out.image(0).featureTokens()[0]);
            assertTrue(out.image(0).featureTokens().length < 17);
        }
    }

    @Test
    void siglipTowerCanBePrunedAndHasNoForcedToken() {
        try (TinyTower t = new TinyTower(TinyTower.SIGLIP); Tensor pixels = t.pixels(1, 18);
             VisionOutput out = t.encoder.encode(pixels, VisionRequest.features(FeatureSelection.of(-1, "full"))
                     .withPooled().withPruning(new EveryOtherRow(0)))) {
            assertArrayEquals(new int[] {1, 3, 5, 7, 9, 11, 13, 15}, out.image(0).featureTokens());
            assertArrayEquals(new int[] {32}, out.image(0).pooled().shape());
        }
    }

    @Test
    void keepingARowOutsideTheSequenceIsAnError() {
        try (TinyTower t = new TinyTower(TinyTower.CLIP); Tensor pixels = t.pixels(1, 19)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.encoder.encode(pixels,
                    VisionRequest.features(FeatureSelection.llava15()).withPruning(block -> KeepSet.rows(0, 17))));
            assertTrue(e.getMessage().contains("row 17"), e.getMessage());
            assertTrue(Arrays.asList(e.getMessage().split(" ")).contains("17"));
        }
    }
}
