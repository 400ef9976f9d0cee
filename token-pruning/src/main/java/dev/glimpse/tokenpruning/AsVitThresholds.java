package dev.glimpse.tokenpruning;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * AS-ViT's pruning stages: after encoder block {@code blocks[k]} (0-based), tokens with score
 * {@code s_j <= thresholds[k]} are dropped. Stored as a small JSON parameter file:
 * {@code {"blocks": [3, 6, 9], "thresholds": [0.001, 0.002, 0.003]}}; {@link AsVitCalibration}
 * fits one for a model and a target keep ratio.
 *
 * @param blocks     strictly ascending encoder blocks after which a stage prunes
 * @param thresholds one threshold per stage
 */
public record AsVitThresholds(int[] blocks, double[] thresholds) {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public AsVitThresholds {
        if (blocks == null || thresholds == null || blocks.length == 0 || blocks.length != thresholds.length) {
            throw new IllegalArgumentException("AS-ViT needs one threshold per stage block, got blocks "
                    + Arrays.toString(blocks) + " and thresholds " + Arrays.toString(thresholds));
        }
        for (int k = 0; k < blocks.length; k++) {
            if (blocks[k] < 0 || (k > 0 && blocks[k] <= blocks[k - 1])) {
                throw new IllegalArgumentException("AS-ViT stage blocks must be >= 0 and strictly ascending: "
                        + Arrays.toString(blocks));
            }
            if (!Double.isFinite(thresholds[k])) {
                throw new IllegalArgumentException("AS-ViT threshold " + k + " is not finite: " + thresholds[k]);
            }
        }
        blocks = blocks.clone();
        thresholds = thresholds.clone();
    }

    /**
     * DeiT-S's stages (the 4th, 7th and 10th of 12 blocks, i.e. after 0-based blocks 3, 6, 9) at
     * the paper's initial thresholds 0.001 / 0.002 / 0.003: a starting point, not a calibration.
     */
    public static AsVitThresholds deitSmallInitial() {
        return new AsVitThresholds(new int[] {3, 6, 9}, new double[] {0.001, 0.002, 0.003});
    }

    @Override
    public int[] blocks() {
        return blocks.clone();
    }

    @Override
    public double[] thresholds() {
        return thresholds.clone();
    }

    public int stages() {
        return blocks.length;
    }

    /** The stage that prunes after {@code block}, or -1. */
    public int stageAt(int block) {
        int k = Arrays.binarySearch(blocks, block);
        return k >= 0 ? k : -1;
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("AS-ViT thresholds cannot be written as JSON", e);
        }
    }

    public static AsVitThresholds fromJson(String json) {
        try {
            return JSON.readValue(json, AsVitThresholds.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not an AS-ViT threshold file: " + e.getOriginalMessage(), e);
        }
    }

    public static AsVitThresholds load(Path file) {
        try {
            return fromJson(Files.readString(file));
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read AS-ViT threshold file " + file + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("AS-ViT threshold file " + file + ": " + e.getMessage(), e);
        }
    }

    public void save(Path file) throws IOException {
        Files.writeString(file, toJson());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof AsVitThresholds other && Arrays.equals(blocks, other.blocks)
                && Arrays.equals(thresholds, other.thresholds);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(blocks) + Arrays.hashCode(thresholds);
    }

    @Override
    public String toString() {
        return "AsVitThresholds[blocks=" + Arrays.toString(blocks) + ", thresholds=" + Arrays.toString(thresholds) + "]";
    }
}
