package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.SessionOptions;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * GPU decoder benchmark, the counterpart of {@code tools/device/bench_hf_decoder.py}: the same
 * Qwen2-0.5B-shaped decoder as {@link DecoderBench} (random bf16 weights, uploaded once) on the
 * CUDA backend. Prefill tokens/s over {@code --prompt N} tokens (default 600; timed until the
 * logits are on the host) and greedy decode tokens/s over {@code --steps N} steps (default 64;
 * each step reads the logits back, picks the argmax on the host and decodes it, as the generator
 * does), after a warm-up pass; decode is set against the HBM roofline of streaming every weight
 * byte once per token at {@code --bandwidth-gbs} (default 4800, the H200's). Best of
 * {@code --repeats N} (default 3). Prints one JSON object.
 */
public final class CudaDecoderBench {

    private CudaDecoderBench() {
    }

    public static void main(String[] args) throws IOException {
        run(flag(args, "--prompt", 600), flag(args, "--steps", 64), flag(args, "--repeats", 3),
                flag(args, "--bandwidth-gbs", 4800), System.out);
    }

    static void run(int prompt, int steps, int repeats, int bandwidthGbs, PrintStream out) throws IOException {
        Path dir = Files.createTempDirectory("glimpse-cuda-decoder-bench");
        try {
            TextConfig config = DecoderBench.writeModel(dir);
            try (Checkpoint checkpoint = Checkpoint.open(dir);
                 CudaBackend backend = open();
                 Decoder decoder = Decoder.load(backend, checkpoint, config)) {
                int[] ids = new SplittableRandom(1).ints(prompt, 0, config.vocabSize()).toArray();
                SessionOptions options = SessionOptions.of(prompt + steps + 8);
                float[] logits = new float[config.vocabSize()];
                measure(decoder, options, ids, Math.min(steps, 4), logits);
                double bestPrefill = Double.MAX_VALUE;
                double bestDecode = Double.MAX_VALUE;
                int token = 0;
                for (int r = 0; r < repeats; r++) {
                    double[] t = measure(decoder, options, ids, steps, logits);
                    bestPrefill = Math.min(bestPrefill, t[0]);
                    bestDecode = Math.min(bestDecode, t[1]);
                    token = (int) t[2];
                }
                long weightBytes = decoder.weights().byteSize();
                double roofline = bandwidthGbs * 1e9 / weightBytes;
                double decodeTps = steps / bestDecode;
                out.println(String.format(Locale.ROOT, "{\"bench\":\"decoder_cuda\",\"impl\":\"glimpse\","
                                + "\"device\":\"%s\",\"model\":\"qwen2-0.5b-shape-bf16\",\"prompt_tokens\":%d,"
                                + "\"prefill_seconds\":%.4f,\"prefill_tokens_per_s\":%.1f,\"decode_steps\":%d,"
                                + "\"decode_ms_per_token\":%.3f,\"decode_tokens_per_s\":%.1f,\"weight_bytes\":%d,"
                                + "\"roofline_tokens_per_s\":%.1f,\"decode_fraction_of_roofline\":%.3f,\"last_token\":%d}",
                        backend.deviceName(), prompt, bestPrefill, prompt / bestPrefill, steps, bestDecode * 1e3 / steps,
                        decodeTps, weightBytes, roofline, decodeTps / roofline, token));
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    private static CudaBackend open() {
        try {
            return CudaBackend.open(CudaOptions.defaults());
        } catch (Backends.UnavailableException e) {
            throw new IllegalStateException("CudaDecoderBench needs a GPU: " + e.getMessage(), e);
        }
    }

    /** Seconds of one prefill (logits on the host), seconds of {@code steps} greedy decode steps, last token. */
    private static double[] measure(Decoder decoder, SessionOptions options, int[] ids, int steps, float[] logits) {
        try (DecoderSession session = decoder.newSession(options)) {
            long start = System.nanoTime();
            session.prefill(ids);
            session.copyLogits(logits);
            long prefilled = System.nanoTime();
            int token = argmax(logits);
            for (int i = 0; i < steps; i++) {
                session.decode(token);
                session.copyLogits(logits);
                token = argmax(logits);
            }
            long done = System.nanoTime();
            return new double[] {(prefilled - start) / 1e9, (done - prefilled) / 1e9, token};
        }
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int flag(String[] args, String name, int fallback) {
        int at = Arrays.asList(args).indexOf(name);
        return at >= 0 && at + 1 < args.length ? Integer.parseInt(args[at + 1]) : fallback;
    }
}
