package dev.glimpse.vlmruntime.text;

import java.util.Optional;
import java.util.Set;

/**
 * The named special tokens of tokenizer_config.json ({@code bos_token}, {@code eos_token},
 * {@code pad_token}, {@code unk_token}; each a string or an AddedToken object with
 * {@code content}) and the contents of every added token marked {@code special}
 * ({@code added_tokens_decoder} there, {@code added_tokens} in tokenizer.json).
 */
public record SpecialTokens(Optional<String> bos, Optional<String> eos, Optional<String> pad, Optional<String> unk,
                            Set<String> all) {

    public SpecialTokens {
        all = Set.copyOf(all);
    }
}
