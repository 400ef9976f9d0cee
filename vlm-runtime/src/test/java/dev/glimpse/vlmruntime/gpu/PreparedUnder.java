package dev.glimpse.vlmruntime.gpu;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.SavedProperties;
import dev.glimpse.vlmruntime.llava.LlavaModel;
import dev.glimpse.vlmruntime.llava.PreparedPrompt;
import dev.glimpse.vlmruntime.llava.VisualInput;
import dev.glimpse.vlmruntime.pruning.RequestPruning;

/**
 * What a request prepared under one value of a switch leaves on the host, for tests that compare two values of it
 * bit for bit: the pruning trace as JSON, the prompt's embeddings and its positions.
 */
record PreparedUnder(String trace, float[] embeddings, int[] positions) {

    /** Prepares {@code prompt} over {@code input} with {@code plan} while {@code property} is {@code value}, then puts it back. */
    static PreparedUnder prepare(LlavaModel model, String prompt, VisualInput input, PruningPlan plan, String property,
                                 String value) {
        try (SavedProperties saved = SavedProperties.of(property)) {
            System.setProperty(property, value);
            RequestPruning pruning = RequestPruning.of(plan, model.backend(), model.config(), input);
            try (PreparedPrompt prepared = model.prepare(prompt, input, pruning.visualHooks(), true);
                 Tensor host = model.backend().download(prepared.embeddings())) {
                return new PreparedUnder(new ObjectMapper().writeValueAsString(pruning.trace()), host.toFloatArray(),
                        prepared.positions().clone());
            } catch (JsonProcessingException e) {
                throw new IllegalStateException("pruning trace does not serialise", e);
            }
        }
    }
}
