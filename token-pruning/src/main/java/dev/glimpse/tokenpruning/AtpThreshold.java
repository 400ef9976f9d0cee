package dev.glimpse.tokenpruning;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * ATP's instance-wise threshold at one decoder layer, returned on the scale of {@code S_red}:
 * {@link AtpSelector} keeps token j iff {@code S_red_j > cutoff}.
 */
public sealed interface AtpThreshold permits AtpThreshold.MeanFactor, AtpThreshold.Learned {

    /**
     * The cutoff for this layer's scores.
     *
     * @param sSelf per visual token, visual->visual attention received (mean)
     * @param sCross per visual token, text->visual attention received (mean)
     * @param sRed  {@code (S_self + S_cross) / 2}
     */
    double cutoff(int layer, float[] sSelf, float[] sCross, float[] sRed);

    /**
     * Training-free rule: {@code cutoff = factor * mean_j(S_red_j)}; a token survives when it
     * receives more than {@code factor} times the average redundancy-weighted attention. Scale
     * free, and adaptive per instance: peaked attention keeps few tokens, flat attention many.
     */
    record MeanFactor(double factor) implements AtpThreshold {
        public MeanFactor {
            if (!(factor >= 0) || Double.isInfinite(factor)) {
                throw new IllegalArgumentException("ATP threshold factor must be finite and >= 0, got " + factor);
            }
        }

        @Override
        public double cutoff(int layer, float[] sSelf, float[] sCross, float[] sRed) {
            return factor * mean(sRed);
        }
    }

    /**
     * Learned module per pruning layer (the third-party reading of ATP-LLaVA):
     * {@code theta = sigmoid(MLP([mean S_self, mean S_cross]))} in (0, 1). The reading leaves the
     * scale of the comparison open; Glimpse compares theta with the min-max normalised scores
     * {@code (S_red - min) / (max - min)}, i.e. {@code cutoff = min + theta (max - min)}, so a
     * sigmoid output is meaningful whatever the token count.
     *
     * <p>Parameter file (JSON), one module per decoder layer:
     * <pre>
     * {"format": "glimpse-atp-threshold/1",
     *  "modules": [{"layer": 2, "layers": [{"weight": [[w11, w12], ...], "bias": [b1, ...]}, ...]}, ...]}
     * </pre>
     * Weights in {@code nn.Linear} layout [out][in]; the first layer takes 2 inputs, the last gives 1.
     */
    record Learned(SortedMap<Integer, ThresholdMlp> modules) implements AtpThreshold {

        public static final String FORMAT = "glimpse-atp-threshold/1";

        public Learned {
            modules = Collections.unmodifiableSortedMap(new TreeMap<>(modules));
            for (Map.Entry<Integer, ThresholdMlp> e : modules.entrySet()) {
                if (e.getValue().inputs() != 2) {
                    throw new IllegalArgumentException("ATP threshold module for layer " + e.getKey()
                            + " must take 2 inputs (mean S_self, mean S_cross), not " + e.getValue().inputs());
                }
            }
        }

        @Override
        public double cutoff(int layer, float[] sSelf, float[] sCross, float[] sRed) {
            ThresholdMlp mlp = modules.get(layer);
            if (mlp == null) {
                throw new IllegalArgumentException("no ATP threshold module for decoder layer " + layer + "; the file has "
                        + modules.keySet());
            }
            double theta = mlp.forward(mean(sSelf), mean(sCross));
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            for (float v : sRed) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            return sRed.length == 0 ? 0 : min + theta * (max - min);
        }

        /** Reads a parameter file; errors name the file and what is wrong. */
        public static Learned load(Path file) {
            JsonNode root;
            try {
                root = new ObjectMapper().readTree(Files.readString(file));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read ATP threshold file " + file + ": " + e.getMessage(), e);
            }
            try {
                return parse(root);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("ATP threshold file " + file + ": " + e.getMessage(), e);
            }
        }

        /** Parses the JSON form above. */
        public static Learned parse(JsonNode root) {
            if (root == null || !FORMAT.equals(root.path("format").asText())) {
                throw new IllegalArgumentException("expected \"format\": \"" + FORMAT + "\"");
            }
            JsonNode modules = root.path("modules");
            if (!modules.isArray() || modules.isEmpty()) {
                throw new IllegalArgumentException("\"modules\" must be a non-empty array");
            }
            TreeMap<Integer, ThresholdMlp> out = new TreeMap<>();
            for (JsonNode m : modules) {
                if (!m.path("layer").canConvertToInt()) {
                    throw new IllegalArgumentException("each module needs an integer \"layer\"");
                }
                List<ThresholdMlp.Dense> layers = new ArrayList<>();
                for (JsonNode d : m.path("layers")) {
                    layers.add(new ThresholdMlp.Dense(matrix(d.path("weight")), vector(d.path("bias"))));
                }
                if (out.put(m.get("layer").asInt(), new ThresholdMlp(layers)) != null) {
                    throw new IllegalArgumentException("two modules for layer " + m.get("layer").asInt());
                }
            }
            return new Learned(out);
        }

        private static double[][] matrix(JsonNode node) {
            if (!node.isArray() || node.isEmpty()) {
                throw new IllegalArgumentException("\"weight\" must be a non-empty array of rows");
            }
            double[][] out = new double[node.size()][];
            for (int i = 0; i < out.length; i++) {
                out[i] = vector(node.get(i));
            }
            return out;
        }

        private static double[] vector(JsonNode node) {
            if (!node.isArray()) {
                throw new IllegalArgumentException("expected an array of numbers, got " + node);
            }
            double[] out = new double[node.size()];
            for (int i = 0; i < out.length; i++) {
                if (!node.get(i).isNumber()) {
                    throw new IllegalArgumentException("expected a number, got " + node.get(i));
                }
                out[i] = node.get(i).asDouble();
            }
            return out;
        }
    }

    private static double mean(float[] values) {
        double s = 0;
        for (float v : values) {
            s += v;
        }
        return values.length == 0 ? 0 : s / values.length;
    }
}
