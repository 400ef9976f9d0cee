package dev.glimpse.visionencoder;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which calls of a replayable computation run eagerly, capture a graph or replay one, per key: the
 * first call of a key runs eagerly (it loads kernels and creates library plans, which must not
 * happen while a stream is captured) and leaves a note of what it saw ({@code S}); the second
 * captures, with that note, an entry ({@code E}); later calls replay the entry. Entries are kept
 * least-recently-used first and closed when more than {@code capacity} are held, and all of them
 * by {@link #close}; a key whose capture failed stays eager for good. Thread-safe.
 *
 * @param <K> what must be equal for a graph to be replayed (request, shapes, launch settings)
 * @param <S> what the first, eager call records for the capture
 * @param <E> a captured entry
 */
final class GraphCache<K, S, E extends AutoCloseable> implements AutoCloseable {

    /** What the caller should do with one call. */
    enum Kind {
        /** Run eagerly and report what the call saw with {@link #firstCallDone}. */
        FIRST,
        /** Capture an entry from {@link Decision#firstCall()}, then {@link #captured} or {@link #keepEager}. */
        CAPTURE,
        /** Replay {@link Decision#entry()}. */
        REPLAY,
        /** Run eagerly: capturing or replaying this key failed before. */
        EAGER
    }

    /** One decision, with the first call's note (CAPTURE) or the entry (REPLAY). */
    record Decision<S, E>(Kind kind, S firstCall, E entry) {
    }

    private final int capacity;
    private final Map<K, E> entries;
    private final Map<K, S> seen;
    private final Map<K, Boolean> eager;
    private final List<E> evicted = new ArrayList<>();

    /**
     * @param capacity entries (graphs) held at most
     * @param keysRemembered keys seen once, and keys kept eager, remembered at most (each)
     */
    GraphCache(int capacity, int keysRemembered) {
        if (capacity < 1 || keysRemembered < 1) {
            throw new IllegalArgumentException("graph cache needs room for at least one entry and key, got " + capacity
                    + " and " + keysRemembered);
        }
        this.capacity = capacity;
        this.entries = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, E> eldest) {
                if (size() > GraphCache.this.capacity) {
                    evicted.add(eldest.getValue());
                    return true;
                }
                return false;
            }
        };
        this.seen = bounded(keysRemembered);
        this.eager = bounded(keysRemembered);
    }

    /** What to do with a call of {@code key}. A CAPTURE decision is handed to one caller only. */
    synchronized Decision<S, E> next(K key) {
        if (eager.containsKey(key)) {
            return new Decision<>(Kind.EAGER, null, null);
        }
        E entry = entries.get(key);
        if (entry != null) {
            return new Decision<>(Kind.REPLAY, null, entry);
        }
        S first = seen.remove(key);
        if (first != null) {
            return new Decision<>(Kind.CAPTURE, first, null);
        }
        return new Decision<>(Kind.FIRST, null, null);
    }

    /** Records what the first, eager call of {@code key} saw; the next call captures. */
    synchronized void firstCallDone(K key, S firstCall) {
        if (!entries.containsKey(key) && !eager.containsKey(key)) {
            seen.put(key, firstCall);
        }
    }

    /**
     * Holds {@code entry} for {@code key}; closes the least recently used entry past the capacity
     * (and an entry that another caller captured for the same key meanwhile).
     */
    void captured(K key, E entry) {
        List<E> toClose;
        synchronized (this) {
            E previous = entries.put(key, entry);
            if (previous != null && previous != entry) {
                evicted.add(previous);
            }
            toClose = List.copyOf(evicted);
            evicted.clear();
        }
        closeAll(toClose);
    }

    /** Runs {@code key} eagerly from now on (its capture or a replay failed); closes its entry, if any. */
    void keepEager(K key) {
        E entry;
        synchronized (this) {
            seen.remove(key);
            eager.put(key, Boolean.TRUE);
            entry = entries.remove(key);
        }
        if (entry != null) {
            closeAll(List.of(entry));
        }
    }

    /** Entries held now. */
    synchronized int size() {
        return entries.size();
    }

    /** Closes every entry and forgets every key; later calls start again from an eager first call. */
    @Override
    public void close() {
        List<E> toClose;
        synchronized (this) {
            toClose = new ArrayList<>(entries.values());
            toClose.addAll(evicted);
            entries.clear();
            evicted.clear();
            seen.clear();
            eager.clear();
        }
        closeAll(toClose);
    }

    private static <E extends AutoCloseable> void closeAll(List<E> toClose) {
        RuntimeException failure = null;
        for (E e : toClose) {
            try {
                e.close();
            } catch (Exception ex) {
                RuntimeException r = ex instanceof RuntimeException re ? re
                        : new IllegalStateException("closing a captured graph failed: " + ex.getMessage(), ex);
                if (failure == null) {
                    failure = r;
                } else {
                    failure.addSuppressed(r);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static <K, V> Map<K, V> bounded(int max) {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > max;
            }
        };
    }
}
