package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.VisionTaps;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;
import dev.glimpse.vlmruntime.llava.VisualHooks;

import java.util.function.Supplier;

/**
 * A request's pre-projector hook with device waits around it, so that {@code --stages} can split
 * {@code LlavaModel.prepare} at the hook: the vision stage (pixel upload and tower) ends when the
 * device is idle on the hook's first call, the selection stage (scoring, top-k and what it reads
 * back, for {@code vtc-cls}) when the device is idle after its last, and the rest (projector,
 * tokenizer, splice) when prepare's own wait ends. The waits add to prepare's time, so these
 * splits come from separate repeats.
 */
final class PrepareClock implements ProjectorInputHook {

    private final ProjectorInputHook inner;
    private final Runnable synchronize;
    private long enteredNanos;
    private long leftNanos;

    private PrepareClock(ProjectorInputHook inner, Runnable synchronize) {
        this.inner = inner;
        this.synchronize = synchronize;
    }

    /** {@code hooks} with its pre-projector hook timed; {@code synchronize} waits for the device. */
    static PrepareClock around(VisualHooks hooks, Runnable synchronize) {
        return new PrepareClock(hooks.projector(), synchronize);
    }

    /** {@code hooks} with this clock in place of its pre-projector hook. */
    VisualHooks in(VisualHooks hooks) {
        return new VisualHooks(hooks.visionBlocks(), this, hooks.positions());
    }

    /** When the hook was first entered (device idle), in {@link System#nanoTime} time; 0 before. */
    long enteredNanos() {
        return enteredNanos;
    }

    /** When the hook last returned (device idle). */
    long leftNanos() {
        return leftNanos;
    }

    @Override
    public VisionTaps taps() {
        return inner.taps();
    }

    @Override
    public int[] keep(int imageIndex, EncodedImage image) {
        return timed(() -> inner.keep(imageIndex, image));
    }

    @Override
    public Tensor keepOnBackend(int imageIndex, EncodedImage image) {
        return timed(() -> inner.keepOnBackend(imageIndex, image));
    }

    @Override
    public void release() {
        inner.release();
    }

    @Override
    public Tensor replace(int imageIndex, EncodedImage image) {
        return timed(() -> inner.replace(imageIndex, image));
    }

    @Override
    public int[] replacementOrigins(int imageIndex, int rows) {
        return inner.replacementOrigins(imageIndex, rows);
    }

    /** The inner hook's call, with the device waited for before (on the first call only) and after it. */
    private <T> T timed(Supplier<T> call) {
        if (enteredNanos == 0) {
            synchronize.run();
            enteredNanos = System.nanoTime();
        }
        try {
            return call.get();
        } finally {
            synchronize.run();
            leftNanos = System.nanoTime();
        }
    }
}
