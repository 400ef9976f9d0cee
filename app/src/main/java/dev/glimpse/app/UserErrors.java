package dev.glimpse.app;

import picocli.CommandLine;

/**
 * Turns failures into exit codes and one-line messages. Exit 2: the command line was wrong.
 * Exit 1: the input was bad or the work failed for a reason the user can act on (the message
 * says which file, limit or flag). Exit 70: an internal error, which is a bug; {@code --debug}
 * prints its stack trace.
 */
final class UserErrors implements CommandLine.IExecutionExceptionHandler {

    static final int BAD_USAGE = 2;
    static final int FAILED = 1;
    static final int INTERNAL = 70;

    private final boolean debug;

    UserErrors(boolean debug) {
        this.debug = debug;
    }

    static int onBadParameters(CommandLine.ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        cmd.getErr().println("glimpse: " + e.getMessage());
        cmd.getErr().println("Try 'glimpse " + commandPath(cmd) + "--help'.");
        return BAD_USAGE;
    }

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        boolean internal = isInternal(e);
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (internal) {
            cmd.getErr().println("glimpse: internal error: " + e.getClass().getSimpleName() + ": " + message
                    + (debug ? "" : " (run with --debug for details)"));
        } else {
            cmd.getErr().println("glimpse: " + message);
        }
        if (debug) {
            e.printStackTrace(cmd.getErr());
        }
        return internal ? INTERNAL : FAILED;
    }

    /**
     * The errors a command's work can end with that the user can act on, which picocli lets through: a native
     * library that does not load (OpenCV, FFmpeg, the tokenizer's or CUDA's JNI libraries: a platform without
     * them, a missing system library they link) and an exhausted Java heap. One line and exit 1; the stack
     * trace only with {@code --debug}.
     */
    static int onFatalError(Error e, java.io.PrintWriter err, boolean debug) {
        Throwable cause = e;
        while (cause instanceof ExceptionInInitializerError && cause.getCause() != null) {
            cause = cause.getCause();
        }
        String detail = cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
        if (e instanceof OutOfMemoryError) {
            err.println("glimpse: the Java heap ran out (" + detail + "); give the JVM more, e.g. "
                    + "GLIMPSE_JAVA_OPTS=-Xmx16g, or lower the token budget, frames or batch");
        } else {
            err.println("glimpse: a native library or class could not be loaded (" + detail + "); this platform may"
                    + " lack one of Glimpse's native dependencies (OpenCV, FFmpeg, the tokenizer's library) or a"
                    + " system library they link" + (debug ? "" : " (run with --debug for details)"));
        }
        if (debug) {
            e.printStackTrace(err);
        }
        err.flush();
        return FAILED;
    }

    /**
     * User-facing failures are the project's typed exceptions and I/O problems; everything else
     * (NullPointerException, IllegalStateException from a bug...) is internal.
     */
    private static boolean isInternal(Exception e) {
        if (e instanceof java.io.IOException || e instanceof java.io.UncheckedIOException
                || e instanceof IllegalArgumentException) {
            return false;
        }
        return !e.getClass().getPackageName().startsWith("dev.glimpse");
    }

    private static String commandPath(CommandLine cmd) {
        StringBuilder path = new StringBuilder();
        for (CommandLine c = cmd; c.getParent() != null; c = c.getParent()) {
            path.insert(0, c.getCommandName() + " ");
        }
        return path.toString();
    }
}
