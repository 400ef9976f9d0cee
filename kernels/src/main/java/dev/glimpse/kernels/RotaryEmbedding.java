package dev.glimpse.kernels;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Host-side rotary tables: inverse frequencies and attention scaling from {@link RopeParameters}
 * exactly as transformers 5.x {@code modeling_rope_utils.py} computes them
 * ({@code _compute_default_rope_parameters}, {@code _compute_linear_scaling_rope_parameters},
 * {@code _compute_dynamic_ntk_parameters}, {@code _compute_llama3_parameters},
 * {@code _compute_yarn_parameters}, {@code _compute_longrope_parameters}), and the cos/sin tables
 * [T, R/2] that {@link Backend#rope} takes.
 *
 * <p>Arithmetic follows torch's dtypes: scalar settings in double (Python floats), tensors in
 * float32 ({@code base ** (arange(0, R, 2).float() / R)} with the base cast to float32, then
 * {@code 1.0 / ...}); the tables are {@code freqs = inv_freq * position} in float32, then
 * {@code cos(freqs) * attention_scaling} and {@code sin(freqs) * attention_scaling}, as
 * {@code LlamaRotaryEmbedding.forward}. Sequence-length-dependent types follow HF's
 * {@code dynamic_rope_update}: the length is {@code max(positions) + 1}; "dynamic" rescales the
 * base once it exceeds {@code max_position_embeddings}, "longrope" switches from the short to
 * the long factors once it exceeds {@code original_max_position_embeddings}. (HF additionally
 * keeps a grown dynamic base across calls until the length falls below the maximum; within one
 * growing sequence the two agree.)
 */
public final class RotaryEmbedding {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final RopeParameters params;
    private final int dim;
    private final double attentionScaling;

    public RotaryEmbedding(RopeParameters params) {
        this.params = params;
        this.dim = params.rotaryDim();
        this.attentionScaling = switch (params.type()) {
            case "yarn" -> yarnAttentionFactor();
            case "longrope" -> longropeAttentionFactor();
            default -> 1.0;
        };
    }

    public RopeParameters parameters() {
        return params;
    }

    /** R: the rotating dims of each head; the tables have R/2 columns. */
    public int rotaryDim() {
        return dim;
    }

    /** The factor cos and sin are multiplied by (HF {@code attention_scaling}; 1 unless yarn/longrope). */
    public double attentionScaling() {
        return attentionScaling;
    }

    /** The R/2 inverse frequencies (float32) for a forward pass over positions below {@code seqLen}. */
    public float[] inverseFrequencies(int seqLen) {
        return switch (params.type()) {
            case "default" -> powerFrequencies(params.theta());
            case "linear" -> divide(powerFrequencies(params.theta()), params.factor());
            case "dynamic" -> dynamic(seqLen);
            case "llama3" -> llama3();
            case "yarn" -> yarn();
            case "longrope" -> longrope(seqLen);
            default -> throw new IllegalStateException("unknown rope type " + params.type());
        };
    }

    /**
     * Fills cos and sin, F32 contiguous [positions.length, R/2], for the given token positions:
     * {@code cos[t, i] = cos(inv_freq[i] * positions[t]) * attention_scaling}, likewise sin.
     */
    public void tables(int[] positions, Tensor cos, Tensor sin) {
        int half = dim / 2;
        for (Tensor t : new Tensor[] {cos, sin}) {
            if (t.dtype() != DType.F32 || !t.isContiguous() || !t.device().isHost()
                    || !Arrays.equals(t.shape(), new int[] {positions.length, half})) {
                throw new TensorException("rotary tables must be contiguous host F32 [" + positions.length + ", "
                        + half + "], got " + t);
            }
        }
        if (positions.length == 0) {
            return;
        }
        int seqLen = Arrays.stream(positions).max().orElseThrow() + 1;
        float[] inv = inverseFrequencies(seqLen);
        float scaling = (float) attentionScaling;
        for (int t = 0; t < positions.length; t++) {
            float p = positions[t];
            for (int i = 0; i < half; i++) {
                float freq = inv[i] * p;
                long at = cos.byteOffset() + ((long) t * half + i) * 4;
                cos.segment().set(F32, at, (float) Math.cos(freq) * scaling);
                sin.segment().set(F32, sin.byteOffset() + ((long) t * half + i) * 4, (float) Math.sin(freq) * scaling);
            }
        }
    }

    // ---------------------------------------------------------------- the HF rope types

    /** {@code base ** (arange(0, dim, 2).float() / dim)} in float32. */
    private float[] powers(double base) {
        float[] p = new float[dim / 2];
        for (int i = 0; i < p.length; i++) {
            float exponent = (float) (2 * i) / (float) dim;
            p[i] = (float) Math.pow((float) base, exponent);
        }
        return p;
    }

    /** {@code 1.0 / (base ** (arange(0, dim, 2).float() / dim))}. */
    private float[] powerFrequencies(double base) {
        float[] p = powers(base);
        for (int i = 0; i < p.length; i++) {
            p[i] = 1.0f / p[i];
        }
        return p;
    }

    private static float[] divide(float[] x, double by) {
        float f = (float) by;
        for (int i = 0; i < x.length; i++) {
            x[i] /= f;
        }
        return x;
    }

    /** {@code _compute_dynamic_ntk_parameters}: base * ((factor * L / max) - (factor - 1)) ** (dim / (dim - 2)). */
    private float[] dynamic(int seqLen) {
        double max = params.maxPositionEmbeddings();
        double len = Math.max(seqLen, max);
        double factor = params.factor();
        double base = params.theta() * Math.pow(factor * len / max - (factor - 1), (double) dim / (dim - 2));
        return powerFrequencies(base);
    }

    /** {@code _compute_llama3_parameters}: scale low frequencies, keep high ones, blend between. */
    private float[] llama3() {
        float[] inv = powerFrequencies(params.theta());
        double factor = params.factor();
        double low = params.lowFreqFactor();
        double high = params.highFreqFactor();
        double oldContext = params.originalMaxPositionEmbeddings();
        float lowFreqWavelen = (float) (oldContext / low);
        float highFreqWavelen = (float) (oldContext / high);
        float[] out = new float[inv.length];
        for (int i = 0; i < inv.length; i++) {
            float wavelen = (float) (2 * Math.PI) / inv[i];
            float scaled = wavelen > lowFreqWavelen ? inv[i] / (float) factor : inv[i];
            boolean medium = !(wavelen < highFreqWavelen) && !(wavelen > lowFreqWavelen);
            if (medium) {
                float smooth = ((float) oldContext / wavelen - (float) low) / (float) (high - low);
                scaled = (1 - smooth) * scaled / (float) factor + smooth * scaled;
            }
            out[i] = scaled;
        }
        return out;
    }

    private double yarnFactor() {
        return params.factor() != null ? params.factor()
                : (double) params.maxPositionEmbeddings() / originalMax();
    }

    private int originalMax() {
        Integer original = params.originalMaxPositionEmbeddings();
        return original != null ? original : params.maxPositionEmbeddings();
    }

    private static double yarnMscale(double scale, double mscale) {
        return scale <= 1 ? 1.0 : 0.1 * mscale * Math.log(scale) + 1.0;
    }

    /** yarn {@code attention_factor}: given, else get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim) or get_mscale(factor). */
    private double yarnAttentionFactor() {
        if (params.attentionFactor() != null) {
            return params.attentionFactor();
        }
        double factor = yarnFactor();
        Double mscale = params.mscale();
        Double mscaleAllDim = params.mscaleAllDim();
        if (mscale != null && mscale != 0 && mscaleAllDim != null && mscaleAllDim != 0) {
            return yarnMscale(factor, mscale) / yarnMscale(factor, mscaleAllDim);
        }
        return yarnMscale(factor, 1.0);
    }

    /** {@code _compute_yarn_parameters}: blend interpolated and extrapolated frequencies over a ramp. */
    private float[] yarn() {
        double base = params.theta();
        double factor = yarnFactor();
        double betaFast = params.betaFast() == null || params.betaFast() == 0 ? 32 : params.betaFast();
        double betaSlow = params.betaSlow() == null || params.betaSlow() == 0 ? 1 : params.betaSlow();
        boolean truncate = params.truncate() == null || params.truncate();
        int original = originalMax();
        double low = correctionDim(betaFast, base, original);
        double high = correctionDim(betaSlow, base, original);
        if (truncate) {
            low = Math.floor(low);
            high = Math.ceil(high);
        }
        low = Math.max(low, 0);
        high = Math.min(high, dim - 1);
        if (low == high) {
            high += 0.001;
        }
        float[] powers = powers(base);
        float[] inv = new float[powers.length];
        for (int i = 0; i < inv.length; i++) {
            float extrapolation = 1.0f / powers[i];
            float interpolation = 1.0f / ((float) factor * powers[i]);
            float ramp = ((float) i - (float) low) / (float) (high - low);
            ramp = Math.min(Math.max(ramp, 0f), 1f);
            float extrapolationFactor = 1 - ramp;
            inv[i] = interpolation * (1 - extrapolationFactor) + extrapolation * extrapolationFactor;
        }
        return inv;
    }

    /** yarn {@code find_correction_dim}: (dim * ln(max / (rotations * 2 pi))) / (2 ln base). */
    private double correctionDim(double rotations, double base, int maxPositions) {
        return (dim * Math.log(maxPositions / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    }

    /** longrope {@code attention_factor}: given, else sqrt(1 + ln(factor) / ln(original max)) (1 when factor <= 1). */
    private double longropeAttentionFactor() {
        if (params.attentionFactor() != null) {
            return params.attentionFactor();
        }
        double factor = yarnFactor();
        return factor <= 1.0 ? 1.0 : Math.sqrt(1 + Math.log(factor) / Math.log(originalMax()));
    }

    /** {@code _compute_longrope_parameters}: 1 / (ext_factor * base ** (2i / dim)), long factors past the original max. */
    private float[] longrope(int seqLen) {
        double[] ext = seqLen > originalMax() ? params.longFactor() : params.shortFactor();
        float[] powers = powers(params.theta());
        float[] inv = new float[powers.length];
        for (int i = 0; i < inv.length; i++) {
            inv[i] = 1.0f / ((float) ext[i] * powers[i]);
        }
        return inv;
    }
}
