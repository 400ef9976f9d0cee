package dev.glimpse.app.serve;

import dev.glimpse.app.Main;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Properties;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The runtime settings {@code glimpse serve} starts with: graph prefills padded to 16 rows unless the operator set
 * {@code -Dglimpse.cuda.prefillPadRows}, and a bad {@code -D} value failing the start (exit 1, one message) instead
 * of every request.
 */
class ServeSettingsTest {

    private static final String PAD_ROWS = DecoderSession.PREFILL_PAD_ROWS_PROPERTY;

    @Test
    void unsetPaddingBecomesSixteenRows() {
        Properties properties = new Properties();
        ServeCommand.padPrefillsUnlessSet(properties);
        assertEquals("16", properties.getProperty(PAD_ROWS));
    }

    @Test
    void blankPaddingCountsAsUnset() {
        Properties properties = new Properties();
        properties.setProperty(PAD_ROWS, " ");
        ServeCommand.padPrefillsUnlessSet(properties);
        assertEquals("16", properties.getProperty(PAD_ROWS));
    }

    @Test
    void anOperatorsPaddingIsKeptZeroIncluded() {
        for (String value : new String[] {"0", "32", "x"}) {
            Properties properties = new Properties();
            properties.setProperty(PAD_ROWS, value);
            ServeCommand.padPrefillsUnlessSet(properties);
            assertEquals(value, properties.getProperty(PAD_ROWS));
        }
    }

    @Test
    void aBadPaddingValueFailsTheStartNamingTheProperty(@TempDir Path model) {
        String previous = System.getProperty(PAD_ROWS);
        PrintStream oldErr = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int exit;
        try {
            System.setProperty(PAD_ROWS, "x");
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            exit = Main.run("serve", "--model", model.toString(), "--port", "0", "--device", "cpu");
        } finally {
            System.setErr(oldErr);
            if (previous == null) {
                System.clearProperty(PAD_ROWS);
            } else {
                System.setProperty(PAD_ROWS, previous);
            }
        }
        String message = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, exit, message);
        assertTrue(message.startsWith("glimpse: -D" + PAD_ROWS + " must be a number of rows >= 0"), message);
        assertTrue(message.contains("'x'"), message);
    }
}
