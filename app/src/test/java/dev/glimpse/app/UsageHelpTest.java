package dev.glimpse.app;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every command's help renders as written: picocli passes descriptions through {@link String#format}, so a
 * bare {@code %} (as in "25%") made {@code glimpse ask --help} print three "Could not format" warnings to
 * stderr and the raw text.
 */
class UsageHelpTest {

    @Test
    void everyCommandsHelpRendersWithoutFormatWarnings() {
        List<CommandLine> commands = new ArrayList<>();
        walk(new CommandLine(new GlimpseCommand()), commands);
        assertTrue(commands.size() >= 8, "the command tree: " + commands.size() + " commands");
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        List<String> warned = new ArrayList<>();
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            for (CommandLine command : commands) {
                captured.reset();
                String usage = command.getUsageMessage(CommandLine.Help.Ansi.OFF);
                String warnings = captured.toString(StandardCharsets.UTF_8);
                if (warnings.contains("Could not format") || usage.contains("%n")) {
                    warned.add(command.getCommandSpec().qualifiedName() + ": " + warnings.strip());
                }
            }
        } finally {
            System.setErr(err);
        }
        assertEquals(List.of(), warned, "help texts picocli cannot format (escape % as %%)");
    }

    private static void walk(CommandLine command, List<CommandLine> out) {
        out.add(command);
        for (CommandLine sub : command.getSubcommands().values()) {
            walk(sub, out);
        }
    }
}
