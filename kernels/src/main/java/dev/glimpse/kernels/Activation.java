package dev.glimpse.kernels;

import java.util.Locale;

/** Pointwise activations, with the names Hugging Face configs use for them ({@code hidden_act}). */
public enum Activation {
    /** x * Phi(x) with the exact erf: HF "gelu". */
    GELU_ERF,
    /** 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))): HF "gelu_pytorch_tanh", "gelu_new", "gelu_fast". */
    GELU_TANH,
    /** x * sigmoid(1.702x): HF "quick_gelu" (OpenAI CLIP). */
    QUICK_GELU,
    /** x * sigmoid(x): HF "silu", "swish". */
    SILU,
    RELU;

    /** Maps an HF {@code hidden_act} / {@code projector_hidden_act} value; unknown names are an error. */
    public static Activation fromHfName(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "gelu" -> GELU_ERF;
            case "gelu_pytorch_tanh", "gelu_new", "gelu_fast" -> GELU_TANH;
            case "quick_gelu" -> QUICK_GELU;
            case "silu", "swish" -> SILU;
            case "relu" -> RELU;
            default -> throw new IllegalArgumentException("unsupported activation '" + name
                    + "' (supported: gelu, gelu_pytorch_tanh, gelu_new, gelu_fast, quick_gelu, silu, swish, relu)");
        };
    }
}
