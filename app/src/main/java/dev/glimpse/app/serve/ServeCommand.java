package dev.glimpse.app.serve;

import dev.glimpse.app.DemoModel;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code glimpse serve}: loads the model once and serves frame-budgeted captioning over HTTP until
 * SIGINT/SIGTERM, then stops accepting, lets in-flight requests finish within the grace period
 * and closes the model.
 *
 * <p>Concurrency: {@code VisionLanguageModel} runs one call at a time (it holds a lock around each
 * {@code ask}), so model work is serialised whatever {@code --max-concurrent} says; that flag bounds
 * how many requests hold a model slot (decoding media and generating) and {@code --max-queued} how
 * many more may wait, uploaded, for one. A request beyond both is refused with 503 before its body is read.
 */
@Command(name = "serve",
        mixinStandardHelpOptions = true,
        description = {"Serve frame-budgeted captioning over HTTP (REST, JSON).",
                "POST /v1/caption (multipart/form-data with a file field 'image' or 'video', or JSON with base64 "
                        + "'image' or 'video'; fields question, frames, prune, budget, positions, max_new_tokens, trace), "
                        + "GET /v1/model, GET /healthz."})
public final class ServeCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

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

    @Option(names = "--max-frames", defaultValue = "32", paramLabel = "N", description = "Most frames a video request may sample. Default: ${DEFAULT-VALUE}.")
    int maxFrames;

    @Option(names = "--max-new-tokens", defaultValue = "512", paramLabel = "N", description = "Most tokens a request may generate. Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--shutdown-grace-seconds", defaultValue = "30", paramLabel = "S", description = "Time in-flight requests get to finish after SIGINT/SIGTERM. Default: ${DEFAULT-VALUE}.")
    int shutdownGraceSeconds;

    @Override
    public Integer call() throws IOException {
        ServeLimits limits = new ServeLimits(maxRequestBytes, maxConcurrent, maxQueued, maxFrames, maxNewTokens,
                Duration.ofSeconds(shutdownGraceSeconds));
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("--port " + port + " is not a port (0..65535)");
        }
        InetSocketAddress address = new InetSocketAddress(host, port);
        if (address.isUnresolved()) {
            throw new IllegalArgumentException("--host " + host + ": unknown host");
        }
        Path folder = DemoModel.orDefault(model);
        VisionLanguageModel vlm = Glimpse.load(folder, LoadOptions.defaults().withDevice(Backends.Choice.parse(device)));
        CaptionServer server;
        try {
            server = CaptionServer.start(address, vlm::ask, ModelDescription.of(vlm, limits), limits);
        } catch (IOException | UncheckedIOException e) {
            vlm.close();
            throw new IOException("cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.stop();
                vlm.close();
                log.info("stopped");
            } finally {
                stopped.countDown();
            }
        }, "glimpse-serve-shutdown"));
        InetSocketAddress bound = server.address();
        System.out.println("glimpse serve: listening on http://" + bound.getHostString() + ":" + bound.getPort()
                + " (model " + folder.getFileName() + ", device " + vlm.llava().backend().name() + ")");
        System.out.flush();
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 0;
    }
}
