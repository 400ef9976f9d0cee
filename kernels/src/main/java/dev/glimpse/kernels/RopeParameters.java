package dev.glimpse.kernels;

import java.util.Set;

/**
 * The rotary-embedding settings of one decoder, as HF configs state them ({@code rope_theta} and
 * {@code rope_scaling} in transformers 4.x, {@code rope_parameters} in 5.x); parsing them is the
 * config reader's job. Null optional fields mean "absent from the config", and get the defaults
 * transformers 5.x {@code modeling_rope_utils.py} gives them.
 *
 * @param type                          "default", "linear", "dynamic", "llama3", "yarn" or "longrope"
 * @param theta                         {@code rope_theta}, the frequency base
 * @param headDim                       the attention head dim ({@code head_dim}, else hidden / heads)
 * @param partialRotaryFactor           fraction of the head dim that rotates (1 for Llama/Qwen2)
 * @param maxPositionEmbeddings         {@code max_position_embeddings} of the config
 * @param factor                        scaling factor (linear, dynamic, llama3: required; yarn,
 *                                      longrope: null means max / original max)
 * @param originalMaxPositionEmbeddings pretraining context (llama3: required; yarn, longrope: null
 *                                      means {@code maxPositionEmbeddings}, as transformers 5
 *                                      {@code standardize_rope_params} sets it)
 * @param lowFreqFactor                 llama3 {@code low_freq_factor}
 * @param highFreqFactor                llama3 {@code high_freq_factor}
 * @param attentionFactor               yarn/longrope {@code attention_factor} (null: derived)
 * @param betaFast                      yarn {@code beta_fast} (null or 0: 32)
 * @param betaSlow                      yarn {@code beta_slow} (null or 0: 1)
 * @param mscale                        yarn {@code mscale} (DeepSeek style; null: unused)
 * @param mscaleAllDim                  yarn {@code mscale_all_dim} (null: unused)
 * @param truncate                      yarn {@code truncate} (null: true)
 * @param shortFactor                   longrope {@code short_factor}, R/2 values
 * @param longFactor                    longrope {@code long_factor}, R/2 values
 */
public record RopeParameters(String type, double theta, int headDim, double partialRotaryFactor,
                             int maxPositionEmbeddings, Double factor, Integer originalMaxPositionEmbeddings,
                             Double lowFreqFactor, Double highFreqFactor, Double attentionFactor,
                             Double betaFast, Double betaSlow, Double mscale, Double mscaleAllDim,
                             Boolean truncate, double[] shortFactor, double[] longFactor) {

    public static final Set<String> TYPES = Set.of("default", "linear", "dynamic", "llama3", "yarn", "longrope");

    public RopeParameters {
        if (type == null || !TYPES.contains(type)) {
            throw new IllegalArgumentException("unsupported rope type '" + type + "' (supported: " + TYPES + ")");
        }
        if (!(theta > 0) || headDim <= 0 || !(partialRotaryFactor > 0 && partialRotaryFactor <= 1)
                || maxPositionEmbeddings <= 0) {
            throw new IllegalArgumentException("rope needs theta > 0, headDim > 0, partial_rotary_factor in (0, 1] and"
                    + " max_position_embeddings > 0; got theta " + theta + ", headDim " + headDim
                    + ", partial_rotary_factor " + partialRotaryFactor + ", max_position_embeddings " + maxPositionEmbeddings);
        }
        int dim = (int) (headDim * partialRotaryFactor);
        if (dim < 2 || dim % 2 != 0) {
            throw new IllegalArgumentException("rope rotary dim int(head_dim * partial_rotary_factor) = " + dim
                    + " must be even and >= 2");
        }
        switch (type) {
            case "linear", "dynamic" -> require(factor, "factor", type);
            case "llama3" -> {
                require(factor, "factor", type);
                require(lowFreqFactor, "low_freq_factor", type);
                require(highFreqFactor, "high_freq_factor", type);
                require(originalMaxPositionEmbeddings, "original_max_position_embeddings", type);
            }
            case "longrope" -> {
                if (shortFactor == null || longFactor == null || shortFactor.length != dim / 2 || longFactor.length != dim / 2) {
                    throw new IllegalArgumentException("rope type longrope needs short_factor and long_factor of "
                            + dim / 2 + " values each (rotary dim / 2)");
                }
            }
            default -> {
            }
        }
        shortFactor = shortFactor == null ? null : shortFactor.clone();
        longFactor = longFactor == null ? null : longFactor.clone();
    }

    /** Plain RoPE (Llama 2, Qwen2, Vicuna). */
    public static RopeParameters standard(double theta, int headDim, int maxPositionEmbeddings) {
        return of("default", theta, headDim, maxPositionEmbeddings, null, null);
    }

    /** Linear position interpolation: inverse frequencies divided by {@code factor}. */
    public static RopeParameters linear(double theta, int headDim, int maxPositionEmbeddings, double factor) {
        return of("linear", theta, headDim, maxPositionEmbeddings, factor, null);
    }

    /** Dynamic NTK scaling: the base grows with the sequence length past the maximum. */
    public static RopeParameters dynamic(double theta, int headDim, int maxPositionEmbeddings, double factor) {
        return of("dynamic", theta, headDim, maxPositionEmbeddings, factor, null);
    }

    /** Llama 3.1 frequency-dependent scaling. */
    public static RopeParameters llama3(double theta, int headDim, int maxPositionEmbeddings, double factor,
                                        double lowFreqFactor, double highFreqFactor, int originalMaxPositionEmbeddings) {
        return new RopeParameters("llama3", theta, headDim, 1.0, maxPositionEmbeddings, factor,
                originalMaxPositionEmbeddings, lowFreqFactor, highFreqFactor, null, null, null, null, null, null, null, null);
    }

    /** The same settings with another partial rotary factor. */
    public RopeParameters withPartialRotaryFactor(double value) {
        return new RopeParameters(type, theta, headDim, value, maxPositionEmbeddings, factor, originalMaxPositionEmbeddings,
                lowFreqFactor, highFreqFactor, attentionFactor, betaFast, betaSlow, mscale, mscaleAllDim, truncate,
                shortFactor, longFactor);
    }

    /** Rotating dims R = int(headDim * partialRotaryFactor). */
    public int rotaryDim() {
        return (int) (headDim * partialRotaryFactor);
    }

    @Override
    public double[] shortFactor() {
        return shortFactor == null ? null : shortFactor.clone();
    }

    @Override
    public double[] longFactor() {
        return longFactor == null ? null : longFactor.clone();
    }

    private static RopeParameters of(String type, double theta, int headDim, int max, Double factor, Integer originalMax) {
        return new RopeParameters(type, theta, headDim, 1.0, max, factor, originalMax,
                null, null, null, null, null, null, null, null, null, null);
    }

    private static void require(Object value, String name, String type) {
        if (value == null) {
            throw new IllegalArgumentException("rope type " + type + " needs '" + name + "' in rope_scaling / rope_parameters");
        }
    }
}
