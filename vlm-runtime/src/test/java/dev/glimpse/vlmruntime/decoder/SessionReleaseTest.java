package dev.glimpse.vlmruntime.decoder;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

/**
 * {@link DecoderSession#close}'s steps ({@link DecoderSession#release}): every step runs even after one
 * fails, the first failure is what close throws and the later ones are suppressed on it, so a CUDA error
 * in the graph's release cannot keep the session's buffers from going back to the pool.
 */
class SessionReleaseTest {

    @Test
    void everyStepRunsAndTheFirstFailureCarriesTheLaterOnes() {
        List<String> ran = new ArrayList<>();
        IllegalStateException graph = new IllegalStateException("graph release failed");
        IllegalArgumentException wait = new IllegalArgumentException("lookahead wait failed");
        RuntimeException failure = null;
        failure = DecoderSession.release(failure, () -> {
            ran.add("graph");
            throw graph;
        });
        failure = DecoderSession.release(failure, () -> {
            ran.add("wait");
            throw wait;
        });
        failure = DecoderSession.release(failure, () -> ran.add("buffers"));
        assertEquals(List.of("graph", "wait", "buffers"), ran);
        assertSame(graph, failure);
        assertEquals(1, failure.getSuppressed().length);
        assertSame(wait, failure.getSuppressed()[0]);
    }

    @Test
    void stepsThatSucceedLeaveNoFailure() {
        List<String> ran = new ArrayList<>();
        RuntimeException failure = DecoderSession.release(null, () -> ran.add("graph"));
        failure = DecoderSession.release(failure, () -> ran.add("buffers"));
        assertNull(failure);
        assertEquals(List.of("graph", "buffers"), ran);
    }
}
