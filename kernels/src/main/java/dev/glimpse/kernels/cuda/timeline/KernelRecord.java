package dev.glimpse.kernels.cuda.timeline;

/**
 * One kernel execution as CUPTI's concurrent-kernel activity record reports it: the function's
 * (possibly mangled) name, its launch shape, and its start and end on CUPTI's clock (nanoseconds,
 * the GPU's timestamps mapped onto {@code cuptiGetTimestamp}'s time base, so comparable with the
 * host marks of a {@link PassTimeline}). {@code graphId} is 0 for a kernel launched on its own and
 * the id of the CUDA graph otherwise.
 */
public record KernelRecord(String name, int gridX, int gridY, int gridZ, int blockX, int blockY, int blockZ,
                           long startNs, long endNs, int streamId, int graphId, int correlationId) {

    public KernelRecord {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a kernel record needs a name");
        }
        if (endNs < startNs) {
            throw new IllegalArgumentException("kernel " + name + " ends (" + endNs + ") before it starts (" + startNs + ")");
        }
    }

    /** Nanoseconds the kernel ran. */
    public long durationNs() {
        return endNs - startNs;
    }

    /** The grid as "x,y,z". */
    public String grid() {
        return gridX + "," + gridY + "," + gridZ;
    }

    /** The block as "x,y,z". */
    public String block() {
        return blockX + "," + blockY + "," + blockZ;
    }

    /** What makes two launches "the same kernel" when layers are matched: the name and the grid. */
    String launchKey() {
        return name + "@" + grid();
    }

    /** The name a reader wants: {@link KernelNames#readable} of {@link #name}. */
    public String readableName() {
        return KernelNames.readable(name);
    }
}
