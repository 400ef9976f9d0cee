package dev.glimpse.app;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.LogitsResult;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code glimpse logits}: the input ids and last-position logits of a raw prompt, tokenized as the
 * Hugging Face processor does (the image placeholder expanded, no chat template), for parity checks.
 */
@Command(name = "logits",
        mixinStandardHelpOptions = true,
        description = {"Print the input ids and last-position logits of a raw prompt with an image,",
                "tokenized as the Hugging Face processor does (<image> expanded, no chat template)."})
final class LogitsCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A Hugging Face LLaVA / LLaVA-OneVision checkpoint folder.")
    Path model;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "The image (jpg, png, webp, bmp, gif).")
    Path image;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", description = "The raw prompt, with <image> where the image goes.")
    String prompt;

    @Option(names = "--device", defaultValue = "cpu", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--json", description = "Print {\"input_ids\": [...], \"last_logits\": [...]}.")
    boolean json;

    @Override
    public Integer call() throws IOException {
        LoadOptions options = LoadOptions.defaults().withDevice(Backends.Choice.parse(device));
        LogitsResult result;
        try (VisionLanguageModel vlm = Glimpse.load(model, options)) {
            result = vlm.logits(Media.imageFile(image), prompt);
        }
        if (json) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("input_ids", result.inputIds());
            out.put("last_logits", result.lastLogits());
            System.out.println(new ObjectMapper().writeValueAsString(out));
            return 0;
        }
        float[] logits = result.lastLogits();
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        System.out.println("input_ids (" + result.inputIds().length + "): " + Arrays.toString(result.inputIds()));
        System.out.println("last_logits: " + logits.length + " values, argmax " + best + " (" + logits[best] + ")");
        return 0;
    }
}
