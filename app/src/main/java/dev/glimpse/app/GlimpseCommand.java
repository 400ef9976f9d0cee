package dev.glimpse.app;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The root {@code glimpse} command: lists the subcommands. */
@Command(name = "glimpse",
        mixinStandardHelpOptions = true,
        versionProvider = Version.class,
        description = {
                "Vision-language models on the JVM, spending compute only on the visual tokens that matter.",
                ""},
        subcommands = {
                AskCommand.class,
                LogitsCommand.class,
                FramesCommand.class,
                BenchCommand.class,
                ExplainCommand.class,
                EvalCommand.class,
                dev.glimpse.app.serve.ServeCommand.class,
        },
        footer = {"", "Run 'glimpse <command> --help' for a command's options."})
final class GlimpseCommand implements Runnable {

    @Option(names = "--verbose", description = "Log progress details (info level) to stderr.", scope = picocli.CommandLine.ScopeType.INHERIT)
    boolean verbose;

    @Option(names = "--debug", description = "Log debug details and print stack traces of errors.", scope = picocli.CommandLine.ScopeType.INHERIT)
    boolean debug;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
