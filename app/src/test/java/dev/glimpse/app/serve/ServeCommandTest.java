package dev.glimpse.app.serve;

import dev.glimpse.app.Main;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.videoingest.MediaLimits;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code glimpse serve} as a user runs it: a flag value out of range is a usage error naming the flag
 * (exit 2); the media flags become the loaded model's limits; a running server stops on SIGTERM, also in the middle
 * of its warm-up.
 */
class ServeCommandTest {

    @Test
    void zeroConcurrencyIsAUsageErrorNamingTheFlag() {
        String err = runExpectingUsageError("serve", "--max-concurrent", "0");
        assertEquals("glimpse: --max-concurrent must be at least 1, got 0", err.lines().findFirst().orElseThrow());
    }

    @Test
    void portOutOfRangeIsAUsageError() {
        String err = runExpectingUsageError("serve", "--port", "70000");
        assertEquals("glimpse: --port 70000 is not a port (0..65535)", err.lines().findFirst().orElseThrow());
    }

    @Test
    void zeroMaxPixelsIsAUsageErrorNamingTheFlag() {
        String err = runExpectingUsageError("serve", "--max-pixels", "0");
        assertEquals("glimpse: --max-pixels must be at least 1, got 0", err.lines().findFirst().orElseThrow());
    }

    @Test
    void maxPixelsAboveWhatAFrameMayHoldIsAUsageError() {
        String err = runExpectingUsageError("serve", "--max-pixels", String.valueOf(RgbImage.MAX_PIXELS + 1));
        assertEquals("glimpse: --max-pixels must be at most " + RgbImage.MAX_PIXELS + ", got " + (RgbImage.MAX_PIXELS + 1),
                err.lines().findFirst().orElseThrow());
    }

    @Test
    void nonPositiveDurationOrDecodeTimeoutIsAUsageError() {
        assertTrue(runExpectingUsageError("serve", "--max-duration-seconds", "-5")
                .startsWith("glimpse: --max-duration-seconds must be at least 1, got -5"));
        assertTrue(runExpectingUsageError("serve", "--decode-timeout-seconds", "0")
                .startsWith("glimpse: --decode-timeout-seconds must be at least 1, got 0"));
    }

    @Test
    void aBadWarmupValueIsAUsageErrorNamingTheFlag() {
        assertEquals("glimpse: --warmup must be auto, off or a number of seconds >= 1, got 'soon'",
                runExpectingUsageError("serve", "--warmup", "soon").lines().findFirst().orElseThrow());
        assertTrue(runExpectingUsageError("serve", "--warmup", "0").startsWith("glimpse: --warmup must be"));
        assertTrue(runExpectingUsageError("serve", "--warmup-budgets", "64,0")
                .startsWith("glimpse: --warmup-budgets takes visual tokens per image >= 1"));
        assertTrue(runExpectingUsageError("serve", "--warmup-prune", "sharpen").startsWith("glimpse: --warmup-prune: "));
        assertTrue(runExpectingUsageError("serve", "--warmup-question-tokens", "-1")
                .startsWith("glimpse: --warmup-question-tokens must be in 0.."));
    }

    @Test
    void warmupBudgetsTakeAListOrNone() {
        ServeCommand serve = parse("--warmup-budgets", "144, 64");
        assertEquals(List.of(144, 64), serve.warmupBudgets());
        assertEquals(List.of(), parse("--warmup-budgets", "none").warmupBudgets());
        assertEquals(List.of(64), parse().warmupBudgets(), "the default");
    }

    @Test
    void withoutMediaFlagsTheRuntimeDefaultsHold() {
        MediaLimits limits = parse().limits().mediaLimits();
        assertEquals(MediaLimits.DEFAULTS.maxPixelsPerFrame(), limits.maxPixelsPerFrame());
        assertEquals(MediaLimits.DEFAULTS.maxDuration(), limits.maxDuration());
        assertEquals(MediaLimits.DEFAULTS.maxDecodeTime(), limits.maxDecodeTime());
    }

    /** The flags become the limits the loaded model checks: the file size is the request body's limit. */
    @Test
    void mediaFlagsBecomeTheModelsMediaLimits() {
        MediaLimits limits = parse("--max-pixels", "4096", "--max-duration-seconds", "7", "--decode-timeout-seconds", "9",
                "--max-frames", "12", "--max-request-bytes", "100000").limits().mediaLimits();
        assertEquals(new MediaLimits(100_000, 4096, 12, Duration.ofSeconds(7), Duration.ofSeconds(9)), limits);
    }

    /** A separate JVM, as the launcher starts it: it prints where it listens, answers, and on SIGTERM stops cleanly. */
    @Test
    void serverAnswersUntilSigtermThenStopsCleanly(@TempDir Path dir) throws Exception {
        List<String> command = serveCommand("--port", "0", "--device", "cpu", "--shutdown-grace-seconds", "5");
        Path stderr = dir.resolve("stderr.log");
        Process server = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            BufferedReader stdout = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String banner = reader.submit(stdout::readLine).get(120, TimeUnit.SECONDS);
            Matcher port = Pattern.compile("listening on http://[^ ]+:(\\d+) \\(model glimpse-demo, device cpu\\)")
                    .matcher(String.valueOf(banner));
            assertTrue(port.find(), banner + "\n" + Files.readString(stderr));
            HttpResponse<String> health = get(port.group(1), "/healthz");
            assertEquals(200, health.statusCode());
            server.destroy();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
            assertEquals(143, server.exitValue(), "exit status of a JVM ended by SIGTERM");
            String log = Files.readString(stderr);
            assertTrue(log.contains("ServeLifecycle - stopped"), log);
            assertFalse(log.contains("Exception"), log);
        } finally {
            server.destroyForcibly();
            reader.shutdownNow();
        }
    }

    /** With {@code --warmup S} on the CPU: listening and warming, then the warm-up's summary, "ready" and /readyz 200 ready. */
    @Test
    void aWarmupOnTheCpuRunsBeforeTheServerSaysReady(@TempDir Path dir) throws Exception {
        List<String> command = serveCommand("--port", "0", "--device", "cpu", "--warmup", "120",
                "--warmup-question-tokens", "16", "--shutdown-grace-seconds", "5");
        Path stderr = dir.resolve("stderr.log");
        Process server = new ProcessBuilder(command).redirectError(stderr.toFile()).start();
        ExecutorService reader = Executors.newSingleThreadExecutor();
        try {
            BufferedReader stdout = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
            String banner = reader.submit(stdout::readLine).get(120, TimeUnit.SECONDS);
            assertTrue(String.valueOf(banner).endsWith(", warming up"), banner + "\n" + Files.readString(stderr));
            String ready = reader.submit(stdout::readLine).get(150, TimeUnit.SECONDS);
            assertEquals("glimpse serve: ready", ready, Files.readString(stderr));
            Matcher port = Pattern.compile(":(\\d+) \\(").matcher(banner);
            assertTrue(port.find(), banner);
            HttpResponse<String> readyz = get(port.group(1), "/readyz");
            assertEquals(200, readyz.statusCode());
            assertTrue(readyz.body().contains("\"ready\""), readyz.body());
            String log = Files.readString(stderr);
            assertTrue(log.contains("warm-up complete in"), log);
            server.destroy();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
        } finally {
            server.destroyForcibly();
            reader.shutdownNow();
        }
    }

    /**
     * SIGTERM while a warm-up runs (on the CPU, questions up to 4096 tokens past the default make it last over a
     * minute): the JVM exits within a bound with SIGTERM's status, the warm-up ends "stopped" before the model closes,
     * "ready" is never printed and {@code /readyz} never answers 200, and nothing logs a stack trace.
     */
    @Test
    void sigtermDuringTheWarmupStopsItBeforeTheModelClosesNeverReady(@TempDir Path dir) throws Exception {
        List<String> command = serveCommand("--port", "0", "--device", "cpu", "--warmup", "600",
                "--warmup-question-tokens", "4096", "--warmup-budgets", "none", "--shutdown-grace-seconds", "5");
        Path stdout = dir.resolve("stdout.log");
        Path stderr = dir.resolve("stderr.log");
        Process server = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile()).start();
        List<Integer> readyz = new CopyOnWriteArrayList<>();
        Thread poller = null;
        try {
            awaitInFile(stdout, ", warming up", stderr);
            Matcher port = Pattern.compile(":(\\d+) \\(").matcher(Files.readString(stdout));
            assertTrue(port.find(), Files.readString(stdout));
            URI readyzUri = URI.create("http://127.0.0.1:" + port.group(1) + "/readyz");
            poller = Thread.ofPlatform().daemon().start(() -> WarmingServerSupport.pollUntilRefused(readyzUri, readyz,
                    new CountDownLatch(1)));
            awaitInFile(stderr, "warm-up request 2:", stderr);
            for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30); readyz.isEmpty() && System.nanoTime() < end; ) {
                Thread.sleep(20);
            }
            long t0 = System.nanoTime();
            server.destroy();
            assertTrue(server.waitFor(60, TimeUnit.SECONDS), "the server did not stop after SIGTERM");
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(30), "stopped within 30 s of SIGTERM");
            assertEquals(143, server.exitValue(), "exit status of a JVM ended by SIGTERM");
            assertFalse(Files.readString(stdout).contains("glimpse serve: ready"), Files.readString(stdout));
            poller.join(10_000);
            assertFalse(readyz.isEmpty(), "/readyz was polled");
            assertFalse(readyz.contains(200), "/readyz said ready: " + readyz);
            String log = Files.readString(stderr);
            int warmupStopped = log.indexOf("warm-up stopped in");
            assertTrue(warmupStopped >= 0 && warmupStopped < log.indexOf("ServeLifecycle - stopped"),
                    "the warm-up ends before the model is closed:\n" + log);
            assertFalse(log.contains("did not stop within"), log);
            assertFalse(log.contains("Exception") || log.contains("\tat "), log);
        } finally {
            server.destroyForcibly();
            if (poller != null) {
                poller.interrupt();
            }
        }
    }

    /** Waits (up to 120 s) until {@code file} holds {@code text}; fails showing {@code log} otherwise. */
    private static void awaitInFile(Path file, String text, Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.readString(file).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no '" + text + "' in " + file.getFileName() + " after 120 s:\n" + Files.readString(log));
            }
            Thread.sleep(20);
        }
    }


    private static ServeCommand parse(String... args) {
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs(args);
        return serve;
    }

    /** Runs the CLI, expects the usage error exit (2) and returns its stderr. */
    private static String runExpectingUsageError(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try {
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            exit = Main.run(args);
        } finally {
            System.setErr(old);
        }
        assertEquals(2, exit, err.toString(StandardCharsets.UTF_8));
        return err.toString(StandardCharsets.UTF_8);
    }

    /** {@code glimpse serve <args>} in a child JVM like this one: its JVM arguments and class path, the repository as home. */
    private static List<String> serveCommand(String... args) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        command.addAll(List.of("-Dglimpse.home=" + ServeEndpointsTest.REPO, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "serve"));
        command.addAll(List.of(args));
        return command;
    }

    /** GET {@code path} of the server listening on {@code port} of this host. */
    private static HttpResponse<String> get(String port, String path) throws IOException, InterruptedException {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
