package dev.glimpse.app;

import picocli.CommandLine;

import java.io.PrintWriter;

/**
 * Entry point of the {@code glimpse} command. Bad input ends with one clear line on stderr and a
 * non-zero exit; stack traces appear only with {@code --debug}.
 */
public final class Main {

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the CLI and returns its exit code (usable from tests). */
    public static int run(String... args) {
        boolean debug = java.util.Arrays.asList(args).contains("--debug");
        Logging.configure(debug, java.util.Arrays.asList(args).contains("--verbose"));
        CommandLine cli = new CommandLine(new GlimpseCommand());
        cli.setExecutionExceptionHandler(new UserErrors(debug));
        cli.setParameterExceptionHandler(UserErrors::onBadParameters);
        cli.setErr(new PrintWriter(System.err, true));
        try {
            return cli.execute(args);
        } catch (LinkageError | OutOfMemoryError e) {
            return UserErrors.onFatalError(e, cli.getErr(), debug);
        }
    }
}
