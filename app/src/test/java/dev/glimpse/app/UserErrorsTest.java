package dev.glimpse.app;

import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The errors picocli lets through (a native library that does not load, an exhausted heap) end as one line and
 * exit 1, as a missing OpenCV JNI library did with a JVM stack trace before (a bundle without OpenBLAS's bindings,
 * 2026-11-29).
 */
class UserErrorsTest {

    private static String report(Error e, boolean debug, int[] status) {
        StringWriter text = new StringWriter();
        status[0] = UserErrors.onFatalError(e, new PrintWriter(text), debug);
        return text.toString();
    }

    @Test
    void aNativeLibraryThatDoesNotLoadIsOneLine() {
        int[] status = new int[1];
        String out = report(new ExceptionInInitializerError(
                new UnsatisfiedLinkError("Could not find jniopenblas in class, module, and library paths.")), false, status);
        assertEquals(UserErrors.FAILED, status[0]);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.startsWith("glimpse: a native library or class could not be loaded (UnsatisfiedLinkError: "
                + "Could not find jniopenblas"), out);
        assertTrue(out.contains("--debug"), out);
        assertFalse(out.contains("\tat "), out);
    }

    @Test
    void anExhaustedHeapNamesTheSetting() {
        int[] status = new int[1];
        String out = report(new OutOfMemoryError("Java heap space"), false, status);
        assertEquals(UserErrors.FAILED, status[0]);
        assertEquals(1, out.lines().count(), out);
        assertTrue(out.contains("OutOfMemoryError: Java heap space") && out.contains("GLIMPSE_JAVA_OPTS=-Xmx"), out);
    }

    @Test
    void debugAddsTheStackTrace() {
        int[] status = new int[1];
        String out = report(new NoClassDefFoundError("org/bytedeco/opencv/global/opencv_core"), true, status);
        assertEquals(UserErrors.FAILED, status[0]);
        assertTrue(out.lines().findFirst().orElseThrow().contains("NoClassDefFoundError: org/bytedeco/opencv"), out);
        assertTrue(out.contains("\tat "), out);
    }
}
