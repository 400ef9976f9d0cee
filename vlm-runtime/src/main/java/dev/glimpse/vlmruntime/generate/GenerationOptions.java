package dev.glimpse.vlmruntime.generate;

import dev.glimpse.kernels.io.HfJson;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * How to generate, with the meaning and defaults of HF's {@code GenerationConfig}: greedy unless
 * {@code doSample}; when sampling, temperature 1.0, top-k 50 and top-p 1.0 as HF defaults them;
 * repetition penalty 1.0 (off). Sampling draws from a {@link java.util.SplittableRandom} seeded
 * with {@code seed}: deterministic for a seed, but not torch's random stream.
 *
 * @param maxNewTokens      tokens to generate at most
 * @param doSample          sample instead of taking the argmax
 * @param temperature       divides the logits when sampling (> 0)
 * @param topK              keep the k best tokens when sampling; 0 disables
 * @param topP              nucleus: keep the smallest set of best tokens holding this probability; 1 disables
 * @param repetitionPenalty HF's {@code RepetitionPenaltyLogitsProcessor} (also in greedy mode); 1 disables
 * @param seed              seed of the sampler
 * @param eosTokenIds       generation stops after any of these
 * @param stopStrings       generation stops once the generated text contains one of these (needs a tokenizer)
 */
public record GenerationOptions(int maxNewTokens, boolean doSample, double temperature, int topK, double topP,
                                double repetitionPenalty, long seed, List<Integer> eosTokenIds,
                                List<String> stopStrings) {

    public static final int DEFAULT_TOP_K = 50;

    public GenerationOptions {
        eosTokenIds = List.copyOf(eosTokenIds);
        stopStrings = List.copyOf(stopStrings);
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0, got " + maxNewTokens);
        }
        if (!(temperature > 0)) {
            throw new IllegalArgumentException("temperature must be > 0, got " + temperature + " (use greedy decoding instead)");
        }
        if (topK < 0) {
            throw new IllegalArgumentException("topK must be >= 0, got " + topK);
        }
        if (!(topP > 0 && topP <= 1)) {
            throw new IllegalArgumentException("topP must be in (0, 1], got " + topP);
        }
        if (!(repetitionPenalty > 0)) {
            throw new IllegalArgumentException("repetitionPenalty must be > 0, got " + repetitionPenalty);
        }
        for (String s : stopStrings) {
            if (s.isEmpty()) {
                throw new IllegalArgumentException("stop strings must not be empty");
            }
        }
    }

    /** Greedy decoding of at most {@code maxNewTokens}, no eos, no stop strings. */
    public static GenerationOptions greedy(int maxNewTokens) {
        return new GenerationOptions(maxNewTokens, false, 1.0, DEFAULT_TOP_K, 1.0, 1.0, 0L, List.of(), List.of());
    }

    /**
     * The defaults a checkpoint folder declares: {@code generation_config.json} when present
     * ({@code do_sample}, {@code temperature}, {@code top_k}, {@code top_p},
     * {@code repetition_penalty}, {@code max_new_tokens}, {@code eos_token_id}), else the eos ids of
     * {@code config}; {@code maxNewTokens} applies when the file sets none.
     */
    public static GenerationOptions fromCheckpoint(Path folder, TextConfig config, int maxNewTokens) {
        Path file = folder.resolve("generation_config.json");
        if (!Files.isRegularFile(file)) {
            return greedy(maxNewTokens).withEosTokenIds(config.eosTokenIds());
        }
        HfJson json = HfJson.read(file);
        return new GenerationOptions(json.intOr("max_new_tokens", maxNewTokens), json.boolOr("do_sample", false),
                json.doubleOr("temperature", 1.0), json.intOr("top_k", DEFAULT_TOP_K), json.doubleOr("top_p", 1.0),
                json.doubleOr("repetition_penalty", 1.0), 0L,
                json.has("eos_token_id") ? json.intOrIntList("eos_token_id") : config.eosTokenIds(), List.of());
    }

    public GenerationOptions withMaxNewTokens(int n) {
        return new GenerationOptions(n, doSample, temperature, topK, topP, repetitionPenalty, seed, eosTokenIds, stopStrings);
    }

    /** Sampling with these warpers (HF order: temperature, top-k, top-p) and seed. */
    public GenerationOptions withSampling(double temperature, int topK, double topP, long seed) {
        return new GenerationOptions(maxNewTokens, true, temperature, topK, topP, repetitionPenalty, seed, eosTokenIds,
                stopStrings);
    }

    public GenerationOptions withRepetitionPenalty(double penalty) {
        return new GenerationOptions(maxNewTokens, doSample, temperature, topK, topP, penalty, seed, eosTokenIds,
                stopStrings);
    }

    public GenerationOptions withEosTokenIds(List<Integer> ids) {
        return new GenerationOptions(maxNewTokens, doSample, temperature, topK, topP, repetitionPenalty, seed, ids,
                stopStrings);
    }

    public GenerationOptions withStopStrings(List<String> strings) {
        return new GenerationOptions(maxNewTokens, doSample, temperature, topK, topP, repetitionPenalty, seed,
                eosTokenIds, strings);
    }
}
