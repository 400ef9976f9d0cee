package dev.glimpse.kernels.cuda;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * Which calls of a replayable computation run eagerly, capture a graph or replay one, per key: the
 * first call of a key runs eagerly (it loads kernels and creates library plans, which must not
 * happen while a stream is captured) and leaves a note of what it saw ({@code S}); the second
 * captures, with that note, an entry ({@code E}); later calls replay the entry. Entries are kept
 * least-recently-used first and closed when more than {@code capacity} are held or their bytes
 * (as {@code weigher} counts them) pass {@code maxBytes}, and all of them by {@link #close}; an
 * entry that alone weighs more than {@code maxBytes} is closed at once and its key runs eagerly,
 * as does a key whose capture failed. Used by the vision tower's graphs and the decoder's prefill
 * graphs. Thread-safe.
 *
 * @param <K> what must be equal for a graph to be replayed (request, shapes, launch settings)
 * @param <S> what the first, eager call records for the capture
 * @param <E> a captured entry
 */
public final class GraphCache<K, S, E extends AutoCloseable> implements AutoCloseable {

    /** What the caller should do with one call. */
    public enum Kind {
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
    public record Decision<S, E>(Kind kind, S firstCall, E entry) {
    }

    private final int capacity;
    private final long maxBytes;
    private final ToLongFunction<E> weigher;
    private final Map<K, E> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<K, S> seen;
    private final Map<K, Boolean> eager;

    /**
     * @param capacity       entries (graphs) held at most
     * @param maxBytes       bytes of the entries held at most, as {@code weigher} counts them
     * @param keysRemembered keys seen once, and keys kept eager, remembered at most (each)
     * @param weigher        the bytes an entry holds
     */
    public GraphCache(int capacity, long maxBytes, int keysRemembered, ToLongFunction<E> weigher) {
        if (capacity < 1 || keysRemembered < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("graph cache needs room for at least one entry, byte and key, got "
                    + capacity + ", " + maxBytes + " and " + keysRemembered);
        }
        this.capacity = capacity;
        this.maxBytes = maxBytes;
        this.weigher = weigher;
        this.seen = bounded(keysRemembered);
        this.eager = bounded(keysRemembered);
    }

    /** What to do with a call of {@code key}. A CAPTURE decision is handed to one caller only. */
    public synchronized Decision<S, E> next(K key) {
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
    public synchronized void firstCallDone(K key, S firstCall) {
        if (!entries.containsKey(key) && !eager.containsKey(key)) {
            seen.put(key, firstCall);
        }
    }

    /**
     * Holds {@code entry} for {@code key} and closes the least recently used entries past the
     * capacity or the byte limit (and an entry that another caller captured for the same key
     * meanwhile). An entry heavier than the limit on its own is closed at once and its key runs
     * eagerly from then on.
     *
     * @return false when the entry was too heavy to keep (it is closed; the caller runs eagerly)
     */
    public boolean captured(K key, E entry) {
        List<E> toClose = new ArrayList<>();
        boolean kept;
        synchronized (this) {
            long weight = weigher.applyAsLong(entry);
            kept = weight <= maxBytes;
            E previous = kept ? entries.put(key, entry) : entries.remove(key);
            if (previous != null && previous != entry) {
                toClose.add(previous);
            }
            if (!kept) {
                toClose.add(entry);
                seen.remove(key);
                eager.put(key, Boolean.TRUE);
            }
            long total = entries.values().stream().mapToLong(weigher).sum();
            Iterator<Map.Entry<K, E>> eldest = entries.entrySet().iterator();
            while ((entries.size() > capacity || total > maxBytes) && eldest.hasNext()) {
                Map.Entry<K, E> e = eldest.next();
                if (e.getKey().equals(key)) {
                    continue;
                }
                total -= weigher.applyAsLong(e.getValue());
                toClose.add(e.getValue());
                eldest.remove();
            }
        }
        closeAll(toClose);
        return kept;
    }

    /** Bytes of the entries held now. */
    public synchronized long bytes() {
        return entries.values().stream().mapToLong(weigher).sum();
    }

    /** Runs {@code key} eagerly from now on (its capture or a replay failed); closes its entry, if any. */
    public void keepEager(K key) {
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
    public synchronized int size() {
        return entries.size();
    }

    /** Closes every entry and forgets every key; later calls start again from an eager first call. */
    @Override
    public void close() {
        List<E> toClose;
        synchronized (this) {
            toClose = new ArrayList<>(entries.values());
            entries.clear();
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
