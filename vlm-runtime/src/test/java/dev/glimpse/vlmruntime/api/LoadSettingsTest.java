package dev.glimpse.vlmruntime.api;

import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.decoder.RuntimeSettings;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Glimpse#load} checks every runtime {@code -D} setting ({@link RuntimeSettings}) before it looks at the
 * model: a bad value fails the load with one message naming the property, the value and what it takes; good
 * ones, and blanks, let the load go on (here to the missing folder).
 */
class LoadSettingsTest {

    private static final Path NO_MODEL = Path.of("target", "no-such-model-folder");

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "glimpse.decoder.capacityBucket|abc|>= 0",
            "glimpse.decoder.capacityBucket|-256|>= 0",
            "glimpse.cuda.prefillPadRows|x|>= 0",
            "glimpse.cuda.decodeAhead|off|true or false",
            "glimpse.cuda.decodeGraphs|off|true or false",
            "glimpse.decoder.poolDecodeAhead|yes|true or false",
            "glimpse.cuda.halfGemmInputs|0|true or false",
            "glimpse.cuda.ltMatmul|no|true or false",
            "glimpse.cuda.decodeAhead|flase|true or false",
            "glimpse.cuda.mlp16|0|true or false",
            "glimpse.cuda.towerLean|no|true or false",
            "glimpse.cuda.towerMlp16|yes|true or false",
            "glimpse.cuda.mlp16Vector|16|auto, 4, 8",
            "glimpse.cuda.normRows|v8|auto, v4, staged",
            "glimpse.cuda.attentionSmallGrid|w3|w2s2",
            "glimpse.cuda.ropeAttentionSmallGrid|w3|w2s2",
            "glimpse.cuda.towerAttentionResident|true|off, auto, s2",
            "glimpse.cuda.gemmEpilogues|off|true or false",
            "glimpse.cuda.attentionHalfOutput|0|true or false",
            "glimpse.cuda.prefillRopeAttention|no|true or false",
            "glimpse.cuda.fusedDecode|off|true or false",
            "glimpse.cuda.decodeRopeAttention|on|true or false",
            "glimpse.cuda.prefillFusion|0|true or false",
            "glimpse.cuda.ropeAppendVector|no|true or false",
            "glimpse.cuda.vtcFused|on|true or false",
            "glimpse.cuda.ltTune|0|true or false",
            "glimpse.cuda.ltResidual|off|true or false",
            "glimpse.cuda.attentionCacheInPlace|no|true or false",
            "glimpse.cuda.decodeMegakernel.timers|yes|true or false",
            "glimpse.cuda.visionLayout|off|true or false",
            "glimpse.cuda.visionGraphs|0|true or false",
            "glimpse.cuda.fusedProjections|no|true or false",
            "glimpse.decoder.reuseSessionBuffers|off|true or false"})
    void aBadValueFailsTheLoadNamingThePropertyTheValueAndWhatItTakes(String property, String value, String accepted) {
        try (SavedProperties saved = SavedProperties.of(property)) {
            System.setProperty(property, value);
            RuntimeException e = assertThrows(RuntimeException.class, () -> Glimpse.load(NO_MODEL));
            String message = e.getMessage();
            assertTrue(message.contains("-D" + property) && message.contains(value) && message.contains(accepted),
                    message);
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "glimpse.decoder.capacityBucket|0",
            "glimpse.decoder.capacityBucket|' '",
            "glimpse.cuda.prefillPadRows|16",
            "glimpse.cuda.prefillPadRows|''",
            "glimpse.cuda.decodeAhead|' False '",
            "glimpse.cuda.decodeAhead|''",
            "glimpse.cuda.decodeGraphs|FALSE",
            "glimpse.decoder.poolDecodeAhead|true",
            "glimpse.cuda.halfGemmInputs|' true'",
            "glimpse.cuda.ltMatmul|''",
            "glimpse.cuda.mlp16|TRUE",
            "glimpse.cuda.mlp16Vector|8",
            "glimpse.cuda.normRows|staged",
            "glimpse.cuda.attentionSmallGrid|W2S4B1",
            "glimpse.cuda.ropeAttentionSmallGrid|off",
            "glimpse.cuda.towerAttentionResident|Auto",
            "glimpse.cuda.decodeRopeAttention|' '"})
    void aGoodOrBlankValuePassesAndTheLoadGoesOn(String property, String value) {
        try (SavedProperties saved = SavedProperties.of(property)) {
            System.setProperty(property, value);
            assertDoesNotThrow(RuntimeSettings::validate);
            assertThrows(ConfigException.class, () -> Glimpse.load(NO_MODEL));
        }
    }
}
