package dev.glimpse.kernels.cuda.timeline;

import org.bytedeco.cuda.cudart.CUctx_st;
import org.bytedeco.cuda.cupti.CUpti_Activity;
import org.bytedeco.cuda.cupti.CUpti_ActivityKernel11;
import org.bytedeco.cuda.cupti.CUpti_BuffersCallbackCompleteFunc;
import org.bytedeco.cuda.cupti.CUpti_BuffersCallbackRequestFunc;
import org.bytedeco.cuda.global.cupti;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * Records which kernels a pass really ran on the GPU and when, with CUPTI's activity API
 * ({@code CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL}): one record per kernel execution with its name,
 * grid, block and GPU start and end, for kernels launched one by one and for the nodes of a
 * replayed CUDA graph alike. The run is not changed otherwise: no events or waits are added
 * between launches and graphs stay graphs (unlike timing eager passes with CUDA events, which
 * would measure a different run than the one served), with warm caches (unlike Nsight Compute,
 * which replays each kernel alone with its caches flushed). CUPTI's per-kernel timestamping costs
 * a little, so a timeline is for finding where time goes, not for headline numbers.
 *
 * <p>Opt-in: nothing of CUPTI is loaded until {@link #start()}, which needs {@code libcupti.so.13}
 * on {@code LD_LIBRARY_PATH} (a CUDA 13 toolkit has it in {@code extras/CUPTI/lib64}) and throws
 * {@link TimelineUnavailableException} naming what is missing when it cannot start. Start it
 * before the CUDA graphs of interest are instantiated (before loading a model). CUPTI's activity
 * buffers belong to the process, so one timeline records at a time; {@link #close()} stops it.
 *
 * <p>{@link #record} brackets one pass between two host marks on CUPTI's clock taken with the
 * device idle; records of kernels that start outside the bracket (warm-up, other passes) are
 * dropped as their buffers arrive, so a long run between passes holds no memory.
 */
public final class KernelTimeline implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KernelTimeline.class);

    /** Bytes of each activity buffer handed to CUPTI (a kernel record is about 200 bytes). */
    private static final long BUFFER_BYTES = 4L << 20;

    private static final String LIBRARY_HINT = "put the folder holding libcupti.so.13 on LD_LIBRARY_PATH (CUDA 13 "
            + "toolkit: /usr/local/cuda/extras/CUPTI/lib64; tools/device/bundle-env.sh's cupti_dir finds it)";

    /** The recording timeline, which CUPTI's buffer callbacks deliver to; null when none records. */
    private static volatile KernelTimeline active;
    /** CUPTI's callbacks, registered once per process; the fields keep JavaCPP's thunks reachable. */
    private static BufferRequest request;
    private static BufferComplete complete;

    private final Object lock = new Object();
    /** Kernel records of the open pass, in arrival order (guarded by lock). */
    private final List<KernelRecord> window = new ArrayList<>();
    /** Start of the open pass on CUPTI's clock; Long.MAX_VALUE while none is open (guarded by lock). */
    private long windowStart = Long.MAX_VALUE;
    /** Records of the open pass CUPTI dropped or left without timestamps (guarded by lock). */
    private long lost;

    private KernelTimeline() {
    }

    /**
     * Loads CUPTI and starts recording kernel activity for the whole process.
     *
     * @throws TimelineUnavailableException when CUPTI cannot be loaded or refuses to start (the message says why)
     * @throws IllegalStateException        when another timeline is recording
     */
    public static synchronized KernelTimeline start() {
        if (active != null) {
            throw new IllegalStateException("a kernel timeline is already recording (CUPTI's activity buffers belong "
                    + "to the process); close it first");
        }
        try {
            Loader.load(cupti.class);
        } catch (LinkageError | RuntimeException e) {
            throw new TimelineUnavailableException("CUPTI could not be loaded (" + rootMessage(e) + "); " + LIBRARY_HINT, e);
        }
        if (request == null) {
            BufferRequest r = new BufferRequest();
            BufferComplete c = new BufferComplete();
            check(cupti.cuptiActivityRegisterCallbacks(r, c), "cuptiActivityRegisterCallbacks");
            request = r;
            complete = c;
        }
        KernelTimeline timeline = new KernelTimeline();
        active = timeline;
        int status = cupti.cuptiActivityEnable(cupti.CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
        if (status != cupti.CUPTI_SUCCESS) {
            active = null;
            check(status, "cuptiActivityEnable(CONCURRENT_KERNEL)");
        }
        LOG.info("kernel timeline: CUPTI records concurrent-kernel activity");
        return timeline;
    }

    /**
     * Runs one pass and returns the kernels it ran: waits for the device ({@code synchronize}),
     * marks the start, runs {@code work} (which queues the pass), waits for the device again,
     * marks the end and collects the records of kernels that started in between.
     */
    public synchronized PassTimeline record(String pass, Runnable synchronize, Runnable work) {
        if (active != this) {
            throw new IllegalStateException("kernel timeline closed");
        }
        synchronize.run();
        flush(); // earlier kernels' records arrive now, while no window is open, and are dropped
        long start = timestamp();
        synchronized (lock) {
            window.clear();
            lost = 0;
            windowStart = start;
        }
        long end;
        List<KernelRecord> kernels;
        long lostInPass;
        try {
            work.run();
            synchronize.run();
            end = timestamp();
            flush();
        } finally {
            synchronized (lock) {
                windowStart = Long.MAX_VALUE;
                kernels = List.copyOf(window);
                lostInPass = lost;
                window.clear();
            }
        }
        long last = end;
        List<KernelRecord> inPass = kernels.stream().filter(k -> k.startNs() <= last).toList();
        if (lostInPass > 0) {
            LOG.warn("kernel timeline: {} kernel record(s) of pass '{}' were dropped or had no timestamps; "
                    + "its timeline is incomplete", lostInPass, pass);
        }
        LOG.debug("kernel timeline: pass '{}': {} kernels in {} ns", pass, inPass.size(), end - start);
        return new PassTimeline(pass, start, end, inPass);
    }

    /** Stops recording: disables the activity kind and delivers (and drops) what is left. */
    @Override
    public void close() {
        synchronized (KernelTimeline.class) {
            if (active != this) {
                return;
            }
            int status = cupti.cuptiActivityDisable(cupti.CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL);
            if (status != cupti.CUPTI_SUCCESS) {
                LOG.warn("kernel timeline: cuptiActivityDisable failed: {}", resultString(status));
            }
            cupti.cuptiActivityFlushAll(cupti.CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
            active = null;
        }
    }

    /** Hands every buffer CUPTI holds to {@link BufferComplete}; returns once they are delivered. */
    private static void flush() {
        check(cupti.cuptiActivityFlushAll(cupti.CUPTI_ACTIVITY_FLAG_FLUSH_FORCED), "cuptiActivityFlushAll");
    }

    private static long timestamp() {
        long[] t = new long[1];
        check(cupti.cuptiGetTimestamp(t), "cuptiGetTimestamp");
        return t[0];
    }

    /** Keeps the records of the open pass (those starting at or after its start mark). */
    private void accept(List<KernelRecord> records, long lostRecords) {
        synchronized (lock) {
            for (KernelRecord r : records) {
                if (r.startNs() >= windowStart) {
                    window.add(r);
                }
            }
            if (windowStart != Long.MAX_VALUE) {
                lost += lostRecords;
            }
        }
    }

    private static void check(int status, String call) {
        if (status != cupti.CUPTI_SUCCESS) {
            throw new TimelineUnavailableException(call + " failed: " + resultString(status));
        }
    }

    private static String resultString(int status) {
        PointerPointer<BytePointer> text = new PointerPointer<>(1);
        text.put(0, (Pointer) null);
        cupti.cuptiGetResultString(status, text);
        BytePointer s = text.get(BytePointer.class, 0);
        return (s == null || s.isNull() ? "CUPTI error" : s.getString()) + " (" + status + ")";
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null) {
            t = t.getCause();
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }

    /** CUPTI asks for an empty buffer: {@value #BUFFER_BYTES} bytes from malloc (16-byte aligned, CUPTI wants 8). */
    private static final class BufferRequest extends CUpti_BuffersCallbackRequestFunc {
        @Override
        public void call(PointerPointer buffer, SizeTPointer size, SizeTPointer maxNumRecords) {
            Pointer memory = Pointer.malloc(BUFFER_BYTES);
            boolean ok = memory != null && !memory.isNull();
            buffer.put(0, ok ? memory : null);
            size.put(0, ok ? BUFFER_BYTES : 0);
            maxNumRecords.put(0, 0);
        }
    }

    /** CUPTI hands back a filled buffer: its kernel records go to the recording timeline, the buffer is freed. */
    private static final class BufferComplete extends CUpti_BuffersCallbackCompleteFunc {
        @Override
        public void call(CUctx_st context, int streamId, BytePointer buffer, long size, long validSize) {
            try {
                List<KernelRecord> records = new ArrayList<>();
                long lost = 0;
                PointerPointer<Pointer> cursor = new PointerPointer<>(1);
                cursor.put(0, (Pointer) null);
                while (validSize > 0 && cupti.cuptiActivityGetNextRecord(buffer, validSize, cursor) == cupti.CUPTI_SUCCESS) {
                    Pointer record = cursor.get(0);
                    if (new CUpti_Activity(record).kind() != cupti.CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
                        continue;
                    }
                    // CUPTI 13.0 writes CUpti_ActivityKernel10, 13.1 Kernel11: the same layout up to
                    // Kernel10's last field, and every field read here comes before it
                    CUpti_ActivityKernel11 k = new CUpti_ActivityKernel11(record);
                    long start = k.start();
                    long end = k.end();
                    BytePointer name = k.name();
                    if (start == 0 || end < start || name == null || name.isNull()) {
                        lost++;
                        continue;
                    }
                    records.add(new KernelRecord(name.getString(), k.gridX(), k.gridY(), k.gridZ(), k.blockX(),
                            k.blockY(), k.blockZ(), start, end, k.streamId(), k.graphId(), k.correlationId()));
                }
                SizeTPointer dropped = new SizeTPointer(1);
                if (cupti.cuptiActivityGetNumDroppedRecords(context, streamId, dropped) == cupti.CUPTI_SUCCESS) {
                    lost += dropped.get();
                }
                KernelTimeline sink = active;
                if (sink != null) {
                    sink.accept(records, lost);
                }
            } catch (Throwable t) {
                LOG.warn("kernel timeline: a CUPTI activity buffer could not be read", t);
            } finally {
                Pointer.free(buffer);
            }
        }
    }
}
