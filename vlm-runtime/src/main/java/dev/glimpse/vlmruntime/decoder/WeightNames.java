package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.io.CheckpointException;

import java.util.List;

/**
 * Where a decoder's tensors live in a checkpoint, under the Hugging Face names of
 * {@code LlamaModel} / {@code Qwen2Model} ({@code embed_tokens}, {@code layers.N.self_attn.q_proj},
 * ..., {@code norm}) behind a prefix that depends on the wrapper class and transformers version:
 * <ul>
 *   <li>{@code model.language_model.} with {@code lm_head.weight}: LLaVA saved by transformers 5.x;</li>
 *   <li>{@code language_model.model.} with {@code language_model.lm_head.weight}: LLaVA saved by 4.x;</li>
 *   <li>{@code model.} with {@code lm_head.weight}: a plain {@code LlamaForCausalLM} / {@code Qwen2ForCausalLM}.</li>
 * </ul>
 *
 * @param decoderPrefix prefix of {@code embed_tokens.weight}, {@code layers.*} and {@code norm.weight}
 * @param lmHead        full name of the output projection (absent from checkpoints with tied embeddings)
 */
public record WeightNames(String decoderPrefix, String lmHead) {

    /** The layouts tried by {@link #resolve}, in order. */
    public static final List<WeightNames> KNOWN = List.of(
            new WeightNames("model.language_model.", "lm_head.weight"),
            new WeightNames("language_model.model.", "language_model.lm_head.weight"),
            new WeightNames("model.", "lm_head.weight"));

    /** The first known layout whose {@code embed_tokens.weight} is in {@code checkpoint}. */
    public static WeightNames resolve(Checkpoint checkpoint) {
        for (WeightNames names : KNOWN) {
            if (checkpoint.has(names.embedTokens())) {
                return names;
            }
        }
        throw new CheckpointException(checkpoint.folder() + ": no decoder embedding found; looked for "
                + KNOWN.stream().map(WeightNames::embedTokens).toList());
    }

    public String embedTokens() {
        return decoderPrefix + "embed_tokens.weight";
    }

    public String finalNorm() {
        return decoderPrefix + "norm.weight";
    }

    /** {@code <prefix>layers.<layer>.<suffix>}, e.g. suffix {@code self_attn.q_proj.weight}. */
    public String layer(int layer, String suffix) {
        return decoderPrefix + "layers." + layer + "." + suffix;
    }
}
