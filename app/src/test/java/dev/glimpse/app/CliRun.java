package dev.glimpse.app;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One in-process run of the CLI with stdout and stderr captured, for command tests.
 *
 * @param exit   the exit code {@link Main#run} returned
 * @param stdout what the command printed to stdout
 * @param stderr what the command printed to stderr
 */
record CliRun(int exit, String stdout, String stderr) {

    /** Runs {@code glimpse args...} in this JVM. */
    static CliRun glimpse(String... args) {
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int exit = Main.run(args);
            return new CliRun(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    /** The repository root: the first folder at or above the working directory that has fixtures/. */
    static Path repoRoot() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isDirectory(d.resolve("fixtures"))) {
                return d;
            }
        }
        throw new IllegalStateException("no fixtures/ folder at or above " + Path.of("").toAbsolutePath());
    }

    /** The test checkpoint fixtures/{@code name} of the repository. */
    static Path fixture(String name) {
        return repoRoot().resolve("fixtures").resolve(name);
    }

    /** Runs {@code run} with {@code glimpse.home} (where the launcher says Glimpse is installed) set to {@code home}. */
    static CliRun withHome(Path home, Supplier<CliRun> run) {
        return withProperty("glimpse.home", home.toString(), run);
    }

    /** Runs {@code run} with system property {@code name} set to {@code value}, then puts its previous value back. */
    static CliRun withProperty(String name, String value, Supplier<CliRun> run) {
        String old = System.getProperty(name);
        System.setProperty(name, value);
        try {
            return run.get();
        } finally {
            if (old == null) {
                System.clearProperty(name);
            } else {
                System.setProperty(name, old);
            }
        }
    }

    /** The run failed with exit 1 and exactly one {@code glimpse: } line on stderr containing {@code fragment}. */
    void assertOneLineError(String fragment) {
        assertEquals(1, exit, stderr);
        assertEquals(1, stderr.strip().lines().count(), stderr);
        assertTrue(stderr.startsWith("glimpse: ") && stderr.contains(fragment), stderr);
    }
}
