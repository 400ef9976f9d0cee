package dev.glimpse.app.serve;

import dev.glimpse.app.DemoModel;
import dev.glimpse.kernels.Backends;
import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.tokenpruning.budget.TokenBudget;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.warmup.ServeWarmup;
import dev.glimpse.vlmruntime.warmup.WarmupSettings;
import dev.glimpse.vlmruntime.warmup.WarmupTarget;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.function.Supplier;

/**
 * {@code glimpse serve}: loads the model once and serves frame-budgeted captioning over HTTP until
 * SIGINT/SIGTERM, then stops accepting, lets in-flight requests finish within the grace period
 * and closes the model.
 *
 * <p>Concurrency: {@code VisionLanguageModel} runs one call at a time (it holds a lock around each
 * {@code ask}), so model work is serialised whatever {@code --max-concurrent} says; that flag bounds
 * how many requests hold a model slot (decoding media and generating) and {@code --max-queued} how
 * many more may wait, uploaded, for one. A request beyond both is refused with 503 before its body is read.
 *
 * <p>Limits: every flag that bounds a request is checked at start (a value out of range is a usage
 * error, exit 2) and listed by {@code GET /v1/model}; the media limits ({@code --max-pixels},
 * {@code --max-duration-seconds}, {@code --decode-timeout-seconds}, with {@code --max-frames} and
 * {@code --max-request-bytes}) are the loaded model's ({@link LoadOptions#withMediaLimits}), so every
 * decode of an upload checks them (422 beyond).
 *
 * <p>Prefill graphs: a service sees a new question length nearly every request, so unless the operator
 * set {@code -Dglimpse.cuda.prefillPadRows} (to a non-blank value), serve pads graph prefills to {@value #PREFILL_PAD_ROWS} rows
 * (prompts of 65..80 rows share one CUDA graph; the padded rows follow the real ones and change none of
 * their values beyond GEMM summation order). On the H200 (2026-11-29, bundle of f108e9b, ServeMixBench:
 * 30 LLaVA-1.5-7B requests of 74..164 prompt tokens, 5 measured rounds) that took TTFT from 10.35 to
 * 8.39 ms median (0.810x) and 13.94 to 10.98 ms p90 (0.788x), 143 of 150 prefills replayed; the exact
 * default stays for one-shot commands, whose prefills never replay.
 *
 * <p>Warm-up ({@code --warmup auto|off|S}, {@link WarmupFlag}; {@code auto} by default: on the H200, 2026-11-29,
 * ServeWarmupBench measured 3.7 s of warm-up taking a just-started LLaVA-7B server's slowest first-pass TTFT from
 * 2,408 ms to 27 ms): on a GPU the first request of each new prompt-length bucket
 * would pay cuBLASLt's algorithm measurements (0.2-0.4 s per product on the H200 unless an earlier process on the
 * machine stored them) and a CUDA graph capture, holding the model, so early users saw TTFTs of 1-2 s. After
 * loading, serve listens at once ({@code GET /healthz} 200 from the start) but answers {@code GET /readyz} 503
 * {@code warming} and captions 503
 * {@code warming_up} with {@code Retry-After} ({@link Readiness}) while {@link ServeWarmup} runs synthetic requests
 * over the buckets real ones hit (the full visual count and {@code --warmup-budgets} under {@code --warmup-prune},
 * questions up to {@code --warmup-question-tokens} longer than the default), logs one line per request and a
 * summary, then prints "glimpse serve: ready" and takes requests. A warm-up request the model refuses for a
 * request-level reason (a budget it cannot prune to) is skipped; any other warm-up failure ends the process with
 * exit status 1 and one error line, never having said ready ({@link ServeLifecycle} says why). SIGINT/SIGTERM during
 * the warm-up stops it after the request running, which the model's close waits for.
 */
@Command(name = "serve",
        mixinStandardHelpOptions = true,
        description = {"Serve frame-budgeted captioning over HTTP (REST, JSON).",
                "POST /v1/caption (multipart/form-data with a file field 'image' or 'video', or JSON with base64 "
                        + "'image' or 'video'; fields question, frames, prune, budget, positions, max_new_tokens, trace; "
                        + "prune=quota plans a video's frame budgets with QuoTA), GET /v1/model, GET /healthz (liveness), "
                        + "GET /readyz (503 while warming up, then 200 ready; a failed warm-up ends serve with exit 1)."})
public final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR", description = "A Hugging Face LLaVA / LLaVA-OneVision checkpoint folder. Default: the shipped demo model (models/glimpse-demo).")
    Path model;

    @Option(names = "--device", defaultValue = "auto", paramLabel = "D", description = "cpu, cuda or auto. Default: ${DEFAULT-VALUE}.")
    String device;

    @Option(names = "--host", defaultValue = "localhost", paramLabel = "H", description = "Address to listen on (0.0.0.0: every interface). Default: ${DEFAULT-VALUE}.")
    String host;

    @Option(names = "--port", defaultValue = "8080", paramLabel = "P", description = "Port (0: any free port, printed at start). Default: ${DEFAULT-VALUE}.")
    int port;

    @Option(names = "--max-request-bytes", defaultValue = "67108864", paramLabel = "N", description = "Largest request body in bytes, enforced while reading (413 beyond). Default: ${DEFAULT-VALUE} (64 MiB).")
    long maxRequestBytes;

    @Option(names = "--max-concurrent", defaultValue = "1", paramLabel = "N", description = "Requests holding a model slot at once (the model runs one call at a time). Default: ${DEFAULT-VALUE}.")
    int maxConcurrent;

    @Option(names = "--max-queued", defaultValue = "8", paramLabel = "N", description = "Requests waiting for a model slot; beyond these a request gets 503. Default: ${DEFAULT-VALUE}.")
    int maxQueued;

    @Option(names = "--max-frames", defaultValue = "32", paramLabel = "N", description = "Most frames a video request may sample (at most 2048, the runtime's own bound). Default: ${DEFAULT-VALUE}.")
    int maxFrames;

    @Option(names = "--max-new-tokens", defaultValue = "512", paramLabel = "N", description = "Most tokens a request may generate. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = MediaLimits.FLAG_MAX_PIXELS, defaultValue = "33177600", paramLabel = "N", description = "Largest image or video frame, width x height, checked before it is decoded (422 beyond). Default: ${DEFAULT-VALUE} (7680 x 4320).")
    long maxPixels;

    @Option(names = MediaLimits.FLAG_MAX_DURATION, defaultValue = "21600", paramLabel = "S", description = "Longest video in seconds, read from its container before frames are decoded (422 beyond). Default: ${DEFAULT-VALUE} (6 h).")
    long maxDurationSeconds;

    @Option(names = MediaLimits.FLAG_DECODE_TIMEOUT, defaultValue = "600", paramLabel = "S", description = "Give up opening and decoding one upload after S seconds (422). Default: ${DEFAULT-VALUE}.")
    long decodeTimeoutSeconds;

    @Option(names = "--shutdown-grace-seconds", defaultValue = "30", paramLabel = "S", description = "Time in-flight requests get to finish after SIGINT/SIGTERM. Default: ${DEFAULT-VALUE}.")
    int shutdownGraceSeconds;

    @Option(names = "--warmup", defaultValue = "auto", paramLabel = "auto|off|S", description = "Warm prefills up before taking requests (GET /readyz says warming, captions get 503 with Retry-After): auto (on a GPU, at most " + WarmupFlag.AUTO_SECONDS + " s; off on the CPU), off, or at most S seconds on any device. Default: ${DEFAULT-VALUE}.")
    String warmup;

    @Option(names = "--warmup-budgets", defaultValue = "64", paramLabel = "N[,N...]|none", description = "Visual token budgets (tokens per image) the warm-up covers besides the full count, pruned with --warmup-prune; none: the full count only. Default: ${DEFAULT-VALUE}.")
    String warmupBudgets;

    @Option(names = "--warmup-prune", defaultValue = WarmupSettings.DEFAULT_PRUNE, paramLabel = "NAME", description = "Pruning the warm-up's budgets go with, as the prune field names it. Default: ${DEFAULT-VALUE}.")
    String warmupPrune;

    @Option(names = "--warmup-question-tokens", defaultValue = "" + WarmupSettings.DEFAULT_QUESTION_TOKENS, paramLabel = "N", description = "How many tokens longer than the default question the warmed prompts reach. Default: ${DEFAULT-VALUE}.")
    int warmupQuestionTokens;

    /** Rows graph prefills are padded to unless {@code -Dglimpse.cuda.prefillPadRows} says otherwise. */
    static final int PREFILL_PAD_ROWS = 16;

    /** How long stopping waits for a warm-up request already running (one token; milliseconds on a GPU). */
    private static final int WARMUP_STOP_SECONDS = 30;

    @Override
    public Integer call() throws IOException {
        ServeLimits limits = limits();
        InetSocketAddress address = address();
        WarmupFlag warmupFlag = warmupFlag();
        List<Integer> budgets = warmupBudgets();
        padPrefillsUnlessSet(System.getProperties());
        Path folder = DemoModel.orDefault(model);
        VisionLanguageModel vlm = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.parse(device))
                .withMediaLimits(limits.mediaLimits()));
        Optional<Duration> warmupBound = warmupFlag.bound(!vlm.llava().backend().device().isHost());
        Readiness readiness = warmupBound.map(Readiness::warming).orElseGet(Readiness::ready);
        CaptionServer server;
        try {
            server = CaptionServer.start(address, Captioner.of(vlm), ModelDescription.of(vlm, limits), limits, readiness);
        } catch (IOException | UncheckedIOException e) {
            vlm.close();
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        ServeLifecycle lifecycle = new ServeLifecycle(server, readiness, vlm, Duration.ofSeconds(WARMUP_STOP_SECONDS));
        Runtime.getRuntime().addShutdownHook(new Thread(lifecycle::stop, "glimpse-serve-shutdown"));
        InetSocketAddress bound = server.address();
        System.out.println("glimpse serve: listening on http://" + bound.getHostString() + ":" + bound.getPort()
                + " (model " + folder.getFileName() + ", device " + vlm.llava().backend().name() + ")"
                + (readiness.isReady() ? "" : ", warming up"));
        System.out.flush();
        if (warmupBound.isPresent()) {
            WarmupSettings settings = new WarmupSettings(warmupBound.get(), CaptionFields.DEFAULT_IMAGE_PROMPT,
                    warmupPrune, budgets, warmupQuestionTokens,
                    Math.min(CaptionFields.DEFAULT_MAX_NEW_TOKENS, limits.maxNewTokens()));
            return lifecycle.warmUpThenServe(stop -> ServeWarmup.run(WarmupTarget.of(vlm), settings, stop));
        }
        if (warmupFlag.mode() == WarmupFlag.Mode.AUTO) {
            log.info("warm-up off on the {} backend: its prefills capture no graphs and measure no GEMM algorithms "
                    + "(--warmup S runs it anyway)", vlm.llava().backend().name());
        }
        return lifecycle.serve();
    }

    /** {@code --warmup}, parsed; a bad value is a usage error. */
    WarmupFlag warmupFlag() {
        return orUsageError(() -> WarmupFlag.parse(warmup));
    }

    /**
     * {@code --warmup-budgets} ({@code none}: empty), with {@code --warmup-prune} and
     * {@code --warmup-question-tokens} checked; a bad value is a usage error naming its flag.
     */
    List<Integer> warmupBudgets() {
        if (warmupQuestionTokens < 0 || warmupQuestionTokens > WarmupSettings.MAX_QUESTION_TOKENS) {
            throw usageError("--warmup-question-tokens must be in 0.."
                    + WarmupSettings.MAX_QUESTION_TOKENS + ", got " + warmupQuestionTokens);
        }
        List<Integer> budgets = new ArrayList<>();
        if (!warmupBudgets.strip().equalsIgnoreCase("none")) {
            for (String part : warmupBudgets.split(",", -1)) {
                String b = part.strip();
                if (!b.matches("\\d{1,9}") || Integer.parseInt(b) < 1) {
                    throw usageError("--warmup-budgets takes visual tokens per image "
                            + ">= 1, comma-separated, or none; got '" + warmupBudgets + "'");
                }
                budgets.add(Integer.parseInt(b));
            }
        }
        try {
            PruningPlan.parse(warmupPrune, new TokenBudget.Count(64));
        } catch (IllegalArgumentException e) {
            throw usageError("--warmup-prune: " + e.getMessage());
        }
        return budgets;
    }

    /**
     * Sets {@code -Dglimpse.cuda.prefillPadRows} in {@code properties} to {@value #PREFILL_PAD_ROWS} where it is unset
     * or blank; an operator's value ({@code 0} included) is kept, and a bad one fails the model load that follows.
     */
    static void padPrefillsUnlessSet(Properties properties) {
        String configured = properties.getProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY);
        if (configured == null || configured.isBlank()) {
            properties.setProperty(DecoderSession.PREFILL_PAD_ROWS_PROPERTY, Integer.toString(PREFILL_PAD_ROWS));
        }
    }

    /** The limits the flags give; a value out of range is a usage error naming its flag (exit 2). */
    ServeLimits limits() {
        return orUsageError(() -> new ServeLimits(maxRequestBytes, maxConcurrent, maxQueued, maxFrames, maxNewTokens,
                Duration.ofSeconds(shutdownGraceSeconds), maxPixels, Duration.ofSeconds(maxDurationSeconds),
                Duration.ofSeconds(decodeTimeoutSeconds)));
    }

    private InetSocketAddress address() {
        if (port < 0 || port > 65535) {
            throw usageError("--port " + port + " is not a port (0..65535)");
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("--host " + host + ": unknown host");
        }
        return address;
    }

    /** What {@code parse} returns; an {@link IllegalArgumentException} it throws is a usage error (exit 2) with its message. */
    private <T> T orUsageError(Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw usageError(e.getMessage());
        }
    }

    /** A usage error (exit 2) saying {@code message}. */
    private ParameterException usageError(String message) {
        return new ParameterException(spec.commandLine(), message);
    }
}
