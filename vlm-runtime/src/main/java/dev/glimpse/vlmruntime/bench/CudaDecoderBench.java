package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import dev.glimpse.kernels.cuda.PersistentPhaseTimes;
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
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * GPU decoder benchmark, the counterpart of {@code tools/device/bench_hf_decoder.py}: the same
 * Qwen2-0.5B-shaped decoder as {@link DecoderBench} (random bf16 weights, uploaded once) on the
 * CUDA backend. Prefill tokens/s over {@code --prompt N} tokens (default 600; timed until the
 * logits are on the host) and greedy decode tokens/s over {@code --steps N} steps (default 64)
 * after a warm-up pass, five ways: replayed (step by step: each step one CUDA graph launch with the
 * fused decode ops, the argmax on the device, 4 bytes read back before the next step is queued),
 * replayed ahead (the default session, {@link DecoderSession#DECODE_AHEAD_PROPERTY}{@code =true}:
 * each step queued before the host reads the previous token; {@code decode_ahead_ratio} is its time
 * per token over the replayed one's), replayed unfused ({@link CudaBackend#FUSED_DECODE_PROPERTY}{@code =false} for that session, so its graph
 * is captured from the unfused ops), eager (graphs off, {@link DecoderSession#GRAPHS_PROPERTY},
 * same argmax) and eager with host sampling (the whole logits row read back and the argmax taken
 * on the host, as the generator with logits processors does). Every way but replayed ahead runs with
 * {@link DecoderSession#DECODE_AHEAD_PROPERTY}{@code =false} (lookahead is on by default since 4d2ab7b),
 * so {@code decode_ms_per_token}, {@code decode_us_per_layer} and the ratio's baseline are the
 * step-by-step loop's; the property's previous value is restored after each session.
 * Decode is set against the HBM roofline of streaming every weight byte once per token at
 * {@code --bandwidth-gbs} (default 4800, the H200's). Best of {@code --repeats N} (default 3).
 * The five runs must pick the same tokens ({@code same_tokens}). {@code decode_us_per_layer} is the
 * replayed step's time over the layer count; {@code persistent_step} says whether the replayed
 * steps ran as one persistent kernel ({@code -Dglimpse.cuda.decodeMegakernel=true}, the
 * {@code DECODER_AB} variant of {@code tools/device/gpu-test.sh}). Prints one JSON object; with
 * {@code -Dglimpse.cuda.decodeMegakernel.timers=true} too, a second one,
 * {@code "bench":"persistent_decode_phases"}: the timed kernel's phases in the last of one more replayed
 * session's steps ({@link PersistentPhaseTimes}).
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
                double[][] best = new double[Mode.values().length][];
                for (Mode mode : Mode.values()) {
                    measure(decoder, options, ids, Math.min(steps, 4), logits, mode);
                    for (int r = 0; r < repeats; r++) {
                        double[] t = measure(decoder, options, ids, steps, logits, mode);
                        if (best[mode.ordinal()] == null || t[1] < best[mode.ordinal()][1]) {
                            best[mode.ordinal()] = t;
                        }
                    }
                }
                double[] replayed = best[Mode.REPLAYED.ordinal()];
                double[] ahead = best[Mode.REPLAYED_AHEAD.ordinal()];
                double[] unfused = best[Mode.REPLAYED_UNFUSED.ordinal()];
                double[] eager = best[Mode.EAGER.ordinal()];
                double[] hostLogits = best[Mode.EAGER_HOST_LOGITS.ordinal()];
                boolean sameTokens = replayed[2] == unfused[2] && replayed[2] == eager[2] && eager[2] == hostLogits[2]
                        && ahead[2] == replayed[2];
                long weightBytes = decoder.weights().byteSize();
                double roofline = bandwidthGbs * 1e9 / weightBytes;
                double decodeTps = steps / replayed[1];
                out.println(String.format(Locale.ROOT, "{\"bench\":\"decoder_cuda\",\"impl\":\"glimpse\","
                                + "\"device\":\"%s\",\"model\":\"qwen2-0.5b-shape-bf16\",\"prompt_tokens\":%d,"
                                + "\"prefill_seconds\":%.4f,\"prefill_tokens_per_s\":%.1f,\"decode_steps\":%d,"
                                + "\"decode_ms_per_token\":%.3f,\"decode_tokens_per_s\":%.1f,"
                                + "\"decode_ahead_ms_per_token\":%.3f,\"decode_ahead_tokens_per_s\":%.1f,"
                                + "\"decode_ahead_ratio\":%.4f,"
                                + "\"decode_unfused_ms_per_token\":%.3f,\"decode_unfused_tokens_per_s\":%.1f,"
                                + "\"decode_eager_ms_per_token\":%.3f,\"decode_eager_host_logits_ms_per_token\":%.3f,"
                                + "\"weight_bytes\":%d,\"roofline_tokens_per_s\":%.1f,\"decode_fraction_of_roofline\":%.3f,"
                                + "\"decode_us_per_layer\":%.2f,\"persistent_step\":%b,"
                                + "\"same_tokens\":%b,\"last_token\":%d}",
                        backend.deviceName(), prompt, replayed[0], prompt / replayed[0], steps, replayed[1] * 1e3 / steps,
                        decodeTps, ahead[1] * 1e3 / steps, steps / ahead[1], ahead[1] / replayed[1],
                        unfused[1] * 1e3 / steps, steps / unfused[1], eager[1] * 1e3 / steps, hostLogits[1] * 1e3 / steps,
                        weightBytes, roofline,
                        decodeTps / roofline, replayed[1] * 1e6 / steps / config.numHiddenLayers(), replayed[3] == 1,
                        sameTokens, (int) replayed[2]));
                phasesLine(decoder, options, ids, steps, logits, backend.deviceName(), prompt)
                        .ifPresent(out::println);
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

    /** How decode steps run and how the next token is picked. */
    private enum Mode {
        REPLAYED, REPLAYED_AHEAD, REPLAYED_UNFUSED, EAGER, EAGER_HOST_LOGITS
    }

    /**
     * Seconds of one prefill (logits on the host), seconds of {@code steps} greedy decode steps, last
     * token, and 1 when the steps ran as the persistent kernel (else 0).
     */
    private static double[] measure(Decoder decoder, SessionOptions options, int[] ids, int steps, float[] logits,
                                    Mode mode) {
        System.setProperty(DecoderSession.GRAPHS_PROPERTY, Boolean.toString(mode != Mode.EAGER && mode != Mode.EAGER_HOST_LOGITS));
        System.setProperty(CudaBackend.FUSED_DECODE_PROPERTY, Boolean.toString(mode != Mode.REPLAYED_UNFUSED));
        String ahead = System.getProperty(DecoderSession.DECODE_AHEAD_PROPERTY);
        System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, Boolean.toString(mode == Mode.REPLAYED_AHEAD));
        try (DecoderSession session = decoder.newSession(options)) {
            long start = System.nanoTime();
            session.prefill(ids);
            session.copyLogits(logits);
            long prefilled = System.nanoTime();
            int token = argmax(logits);
            if (mode == Mode.EAGER_HOST_LOGITS) {
                for (int i = 0; i < steps; i++) {
                    session.decode(token);
                    session.copyLogits(logits);
                    token = argmax(logits);
                }
            } else {
                token = GreedySteps.run(session, token, steps);
            }
            long done = System.nanoTime();
            return new double[] {(prefilled - start) / 1e9, (done - prefilled) / 1e9, token,
                    session.runsPersistentStep() ? 1 : 0};
        } finally {
            System.clearProperty(DecoderSession.GRAPHS_PROPERTY);
            System.clearProperty(CudaBackend.FUSED_DECODE_PROPERTY);
            if (ahead == null) {
                System.clearProperty(DecoderSession.DECODE_AHEAD_PROPERTY);
            } else {
                System.setProperty(DecoderSession.DECODE_AHEAD_PROPERTY, ahead);
            }
        }
    }

    /**
     * One more replayed session of {@code steps} greedy steps; when they ran the timed persistent kernel,
     * its phase times in the last step (a graph replay, every record rewritten by each launch) as a JSON line.
     */
    private static Optional<String> phasesLine(Decoder decoder, SessionOptions options, int[] ids, int steps,
                                               float[] logits, String device, int prompt) {
        try (DecoderSession session = decoder.newSession(options)) {
            session.prefill(ids);
            session.copyLogits(logits);
            GreedySteps.run(session, argmax(logits), steps);
            int keys = prompt + steps;
            return session.persistentPhaseTimes().map(times -> String.format(Locale.ROOT,
                    "{\"bench\":\"persistent_decode_phases\",\"source\":\"decoder_cuda\",\"device\":\"%s\","
                            + "\"model\":\"qwen2-0.5b-shape-bf16\",\"layers\":%d,\"keys\":%d,\"grid\":%d,"
                            + "\"records_forward\":%b,\"timer_resolution_ns\":%d,\"us_per_layer\":%.2f,\"phases\":%s}",
                    device, times.layers(), keys, times.blocks(), times.firstDisorder() == null, times.resolutionNs(),
                    times.spanUs() / times.layers(), times.phasesJson()));
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

    /** The value after the last {@code name} in {@code args} (a later flag overrides an earlier one), else {@code fallback}. */
    private static int flag(String[] args, String name, int fallback) {
        int at = Arrays.asList(args).lastIndexOf(name);
        return at >= 0 && at + 1 < args.length ? Integer.parseInt(args[at + 1]) : fallback;
    }
}
