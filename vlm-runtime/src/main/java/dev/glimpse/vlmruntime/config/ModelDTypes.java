package dev.glimpse.vlmruntime.config;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.HfJson;

import java.util.Optional;

/** The weight dtype a config declares: {@code dtype} (transformers 5) or {@code torch_dtype} (4.x). */
final class ModelDTypes {

    private ModelDTypes() {
    }

    static Optional<DType> parse(HfJson json) {
        String key = json.has("dtype") ? "dtype" : "torch_dtype";
        return json.optString(key).map(name -> switch (name) {
            case "float32" -> DType.F32;
            case "float16" -> DType.F16;
            case "bfloat16" -> DType.BF16;
            default -> throw json.error(key, "is '" + name + "'; expected float32, float16 or bfloat16");
        });
    }
}
