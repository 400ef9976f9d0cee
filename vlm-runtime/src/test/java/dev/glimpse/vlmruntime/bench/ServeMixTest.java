package dev.glimpse.vlmruntime.bench;

import dev.glimpse.vlmruntime.decoder.DecoderSession;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServeMixTest {

    @Test
    void aSeedGivesTheSameRequestsEveryTime() {
        assertEquals(ServeMix.of(11, 30), ServeMix.of(11, 30));
        assertNotEquals(ServeMix.of(11, 30), ServeMix.of(12, 30));
    }

    @Test
    void questionLengthsAndMaxTokensVaryWithinTheirRanges() {
        ServeMix mix = ServeMix.of(11, 30);
        assertEquals(30, mix.requests().size());
        long lengths = mix.requests().stream().mapToInt(r -> r.question().split(" ").length).distinct().count();
        long maxTokens = mix.requests().stream().mapToInt(ServeMix.Request::maxNewTokens).distinct().count();
        assertTrue(lengths >= 10, lengths + " distinct question lengths");
        assertTrue(maxTokens >= 3, maxTokens + " distinct max_tokens");
        for (ServeMix.Request r : mix.requests()) {
            int words = r.question().split(" ").length;
            assertTrue(words >= ServeMix.MIN_WORDS && words <= ServeMix.MAX_WORDS, r.question());
            assertTrue(Arrays.stream(ServeMix.MAX_TOKENS).anyMatch(m -> m == r.maxNewTokens()), r.toString());
        }
    }

    @Test
    void theDefaultVariantsParse() {
        assertEquals(4, AbSpec.parse(ServeMixBench.DEFAULT_AB).variants().size());
    }

    @Test
    void everyDefaultVariantPinsItsPrefillPadding() {
        Map<String, String> padRows = new LinkedHashMap<>();
        for (AbVariant v : AbSpec.parse(ServeMixBench.DEFAULT_AB).variants()) {
            padRows.put(v.label(), v.properties().get(DecoderSession.PREFILL_PAD_ROWS_PROPERTY));
        }
        assertEquals(Map.of("exact", "0", "bucket", "0", "pad16", "16", "pad32", "32"), padRows);
    }
}
