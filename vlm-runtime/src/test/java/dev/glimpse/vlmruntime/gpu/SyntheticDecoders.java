package dev.glimpse.vlmruntime.gpu;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.io.SafetensorsWriter;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Small random BF16 decoders for the GPU A/B tests that need shapes the fixtures lack (multi-head
 * attention, attention biases): 2 layers, hidden 256, intermediate 512, vocabulary 128, 4 query heads
 * of 64. {@code llama}: 4 kv heads, biases on q, k, v and o; {@code qwen2}: 2 kv heads, biases on q, k
 * and v. Weights uniform in (-0.05, 0.05) (embeddings (-1, 1), biases (-0.1, 0.1)), norms one.
 */
final class SyntheticDecoders {

    static final int VOCAB = 128;
    static final int HIDDEN = 256;
    static final int INTERMEDIATE = 512;

    private SyntheticDecoders() {
    }

    /** Writes model.safetensors and config.json of {@code family} into {@code dir/name}; returns that folder. */
    static Path write(Path dir, String name, String family, long seed, int maxPositions) {
        boolean qwen2 = family.equals("qwen2");
        int kvHeads = qwen2 ? 2 : 4;
        int kvWidth = kvHeads * 64;
        SplittableRandom r = new SplittableRandom(seed);
        SafetensorsWriter writer = new SafetensorsWriter();
        writer.add("model.embed_tokens.weight", DType.BF16, values(r, VOCAB * HIDDEN, 1f), VOCAB, HIDDEN);
        writer.add("model.norm.weight", DType.BF16, ones(HIDDEN), HIDDEN);
        writer.add("lm_head.weight", DType.BF16, values(r, VOCAB * HIDDEN, 0.05f), VOCAB, HIDDEN);
        for (int l = 0; l < 2; l++) {
            String p = "model.layers." + l + ".self_attn.";
            String m = "model.layers." + l + ".mlp.";
            writer.add("model.layers." + l + ".input_layernorm.weight", DType.BF16, ones(HIDDEN), HIDDEN);
            writer.add("model.layers." + l + ".post_attention_layernorm.weight", DType.BF16, ones(HIDDEN), HIDDEN);
            for (String proj : new String[] {"q_proj", "k_proj", "v_proj", "o_proj"}) {
                int out = proj.equals("k_proj") || proj.equals("v_proj") ? kvWidth : HIDDEN;
                writer.add(p + proj + ".weight", DType.BF16, values(r, out * HIDDEN, 0.05f), out, HIDDEN);
                if (!(qwen2 && proj.equals("o_proj"))) {
                    writer.add(p + proj + ".bias", DType.BF16, values(r, out, 0.1f), out);
                }
            }
            writer.add(m + "gate_proj.weight", DType.BF16, values(r, INTERMEDIATE * HIDDEN, 0.05f), INTERMEDIATE, HIDDEN);
            writer.add(m + "up_proj.weight", DType.BF16, values(r, INTERMEDIATE * HIDDEN, 0.05f), INTERMEDIATE, HIDDEN);
            writer.add(m + "down_proj.weight", DType.BF16, values(r, HIDDEN * INTERMEDIATE, 0.05f), HIDDEN, INTERMEDIATE);
        }
        try {
            Path folder = Files.createDirectories(dir.resolve(name));
            writer.write(folder.resolve("model.safetensors"));
            Files.writeString(folder.resolve("config.json"), """
                    {"model_type": "%s", "architectures": ["%s"], "vocab_size": %d, "hidden_size": %d,
                     "intermediate_size": %d, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": %d,
                     "attention_bias": %b, "hidden_act": "silu", "rms_norm_eps": 1e-5, "max_position_embeddings": %d,
                     "torch_dtype": "bfloat16", "tie_word_embeddings": false}
                    """.formatted(family, qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM", VOCAB, HIDDEN, INTERMEDIATE,
                    kvHeads, !qwen2, maxPositions));
            return folder;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static float[] values(SplittableRandom r, int count, float scale) {
        float[] v = new float[count];
        for (int i = 0; i < count; i++) {
            v[i] = (float) (r.nextDouble(-1, 1) * scale);
        }
        return v;
    }

    private static float[] ones(int count) {
        float[] v = new float[count];
        Arrays.fill(v, 1f);
        return v;
    }
}
