package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GraphCacheTest {

    /** A stand-in for a captured graph that records being closed. */
    private static final class Entry implements AutoCloseable {
        final String name;
        final List<String> closed;
        final long bytes;

        Entry(String name, List<String> closed) {
            this(name, closed, 1);
        }

        Entry(String name, List<String> closed, long bytes) {
            this.name = name;
            this.closed = closed;
            this.bytes = bytes;
        }

        @Override
        public void close() {
            closed.add(name);
        }
    }

    private final List<String> closed = new ArrayList<>();

    private GraphCache<String, String, Entry> cache(int capacity) {
        return new GraphCache<>(capacity, Long.MAX_VALUE, 8, e -> e.bytes);
    }

    private Entry capture(GraphCache<String, String, Entry> cache, String key) {
        return capture(cache, key, 1);
    }

    private Entry capture(GraphCache<String, String, Entry> cache, String key, long bytes) {
        assertEquals(GraphCache.Kind.FIRST, cache.next(key).kind());
        cache.firstCallDone(key, "shapes of " + key);
        GraphCache.Decision<String, Entry> d = cache.next(key);
        assertEquals(GraphCache.Kind.CAPTURE, d.kind());
        assertEquals("shapes of " + key, d.firstCall());
        Entry e = new Entry(key, closed, bytes);
        cache.captured(key, e);
        return e;
    }

    @Test
    void firstCallRunsEagerlySecondCapturesLaterOnesReplay() {
        GraphCache<String, String, Entry> cache = cache(2);
        Entry e = capture(cache, "a");
        for (int i = 0; i < 3; i++) {
            GraphCache.Decision<String, Entry> d = cache.next("a");
            assertEquals(GraphCache.Kind.REPLAY, d.kind());
            assertSame(e, d.entry());
        }
        assertTrue(closed.isEmpty());
    }

    @Test
    void aCaptureDecisionGoesToOneCallerOnly() {
        GraphCache<String, String, Entry> cache = cache(2);
        cache.next("a");
        cache.firstCallDone("a", "s");
        assertEquals(GraphCache.Kind.CAPTURE, cache.next("a").kind());
        assertEquals(GraphCache.Kind.FIRST, cache.next("a").kind(), "a concurrent call runs eagerly meanwhile");
    }

    @Test
    void aFailedCaptureKeepsTheKeyEagerForGood() {
        GraphCache<String, String, Entry> cache = cache(2);
        cache.next("a");
        cache.firstCallDone("a", "s");
        cache.next("a");
        cache.keepEager("a");
        for (int i = 0; i < 3; i++) {
            assertEquals(GraphCache.Kind.EAGER, cache.next("a").kind());
        }
        cache.firstCallDone("a", "again");
        assertEquals(GraphCache.Kind.EAGER, cache.next("a").kind(), "a later eager call does not re-arm the capture");
    }

    @Test
    void aFailedReplayClosesTheEntryAndKeepsTheKeyEager() {
        GraphCache<String, String, Entry> cache = cache(2);
        capture(cache, "a");
        capture(cache, "b");
        cache.keepEager("a");
        assertEquals(List.of("a"), closed);
        assertEquals(1, cache.size());
        assertEquals(GraphCache.Kind.EAGER, cache.next("a").kind());
        assertEquals(GraphCache.Kind.REPLAY, cache.next("b").kind());
    }

    @Test
    void theLeastRecentlyUsedEntryIsClosedPastTheCapacity() {
        GraphCache<String, String, Entry> cache = cache(2);
        capture(cache, "a");
        capture(cache, "b");
        assertEquals(GraphCache.Kind.REPLAY, cache.next("a").kind());
        capture(cache, "c");
        assertEquals(List.of("b"), closed, "b was used least recently");
        assertEquals(2, cache.size());
        assertEquals(GraphCache.Kind.REPLAY, cache.next("a").kind());
        assertEquals(GraphCache.Kind.REPLAY, cache.next("c").kind());
        assertEquals(GraphCache.Kind.FIRST, cache.next("b").kind(), "an evicted key starts over");
    }

    @Test
    void aSecondCaptureOfOneKeyClosesTheFirst() {
        GraphCache<String, String, Entry> cache = cache(2);
        Entry first = capture(cache, "a");
        Entry second = new Entry("a2", closed);
        cache.captured("a", second);
        assertEquals(List.of("a"), closed);
        assertSame(second, cache.next("a").entry());
        assertEquals(List.of("a"), List.of(first.name));
    }

    @Test
    void closeClosesEveryEntryAndForgetsEveryKey() {
        GraphCache<String, String, Entry> cache = cache(4);
        capture(cache, "a");
        capture(cache, "b");
        cache.next("c");
        cache.firstCallDone("c", "s");
        cache.next("d");
        cache.firstCallDone("d", "s");
        cache.next("d");
        cache.keepEager("d");
        cache.close();
        assertEquals(List.of("a", "b"), closed.stream().sorted().toList());
        assertEquals(0, cache.size());
        for (String key : List.of("a", "b", "c", "d")) {
            assertEquals(GraphCache.Kind.FIRST, cache.next(key).kind(), key);
        }
    }

    @Test
    void keysSeenOnceAreBounded() {
        GraphCache<String, String, Entry> cache = new GraphCache<>(1, Long.MAX_VALUE, 2, e -> e.bytes);
        for (String key : List.of("a", "b", "c")) {
            cache.next(key);
            cache.firstCallDone(key, key);
        }
        assertEquals(GraphCache.Kind.FIRST, cache.next("a").kind(), "the oldest note was dropped");
        assertEquals(GraphCache.Kind.CAPTURE, cache.next("c").kind());
        assertFalse(closed.contains("a"));
    }

    @Test
    void leastRecentlyUsedEntriesAreClosedPastTheByteLimit() {
        GraphCache<String, String, Entry> cache = new GraphCache<>(4, 100, 8, e -> e.bytes);
        capture(cache, "a", 40);
        capture(cache, "b", 40);
        assertEquals(GraphCache.Kind.REPLAY, cache.next("a").kind());
        capture(cache, "c", 30);
        assertEquals(List.of("b"), closed, "b was used least recently; a + c = 70 bytes fit");
        assertEquals(70, cache.bytes());
        capture(cache, "d", 100);
        assertEquals(List.of("b", "a", "c"), closed, "d alone fills the limit");
        assertEquals(100, cache.bytes());
        assertEquals(GraphCache.Kind.REPLAY, cache.next("d").kind());
    }

    @Test
    void anEntryHeavierThanTheLimitIsClosedAndItsKeyRunsEagerly() {
        GraphCache<String, String, Entry> cache = new GraphCache<>(4, 100, 8, e -> e.bytes);
        capture(cache, "a", 60);
        cache.next("big");
        cache.firstCallDone("big", "s");
        cache.next("big");
        Entry big = new Entry("big", closed, 101);
        assertFalse(cache.captured("big", big));
        assertEquals(List.of("big"), closed, "the entries already held stay");
        assertEquals(GraphCache.Kind.EAGER, cache.next("big").kind());
        assertEquals(GraphCache.Kind.REPLAY, cache.next("a").kind());
        assertEquals(60, cache.bytes());
    }

    @Test
    void aCacheWithoutRoomIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new GraphCache<String, String, Entry>(0, 1, 1, e -> e.bytes));
        assertThrows(IllegalArgumentException.class, () -> new GraphCache<String, String, Entry>(1, 0, 1, e -> e.bytes));
    }
}
