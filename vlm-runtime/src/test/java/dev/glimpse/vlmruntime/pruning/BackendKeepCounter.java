package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.visionencoder.EncodedImage;
import dev.glimpse.visionencoder.VisionTaps;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;
import dev.glimpse.vlmruntime.llava.VisualHooks;

/**
 * A request's pre-projector hook that counts the images whose kept rows it left on the backend
 * ({@link ProjectorInputHook#keepOnBackend}), so a test can tell the overlapped prepare path ran.
 */
public final class BackendKeepCounter implements ProjectorInputHook {

    private final ProjectorInputHook inner;
    private int keptOnBackend;

    private BackendKeepCounter(ProjectorInputHook inner) {
        this.inner = inner;
    }

    /** {@code hooks} with its pre-projector hook counted. */
    public static BackendKeepCounter around(VisualHooks hooks) {
        return new BackendKeepCounter(hooks.projector());
    }

    /** {@code hooks} with this counter in place of its pre-projector hook. */
    public VisualHooks in(VisualHooks hooks) {
        return new VisualHooks(hooks.visionBlocks(), this, hooks.positions());
    }

    /** Images whose kept rows stayed on the backend so far. */
    public int keptOnBackend() {
        return keptOnBackend;
    }

    @Override
    public VisionTaps taps() {
        return inner.taps();
    }

    @Override
    public int[] keep(int imageIndex, EncodedImage image) {
        return inner.keep(imageIndex, image);
    }

    @Override
    public Tensor keepOnBackend(int imageIndex, EncodedImage image) {
        Tensor rows = inner.keepOnBackend(imageIndex, image);
        if (rows != null) {
            keptOnBackend++;
        }
        return rows;
    }

    @Override
    public void release() {
        inner.release();
    }
}
