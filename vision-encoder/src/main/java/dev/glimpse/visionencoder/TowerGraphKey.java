package dev.glimpse.visionencoder;

import dev.glimpse.kernels.cuda.LaunchSettings;

import java.util.Properties;

/**
 * What must be equal for a captured forward pass of the vision tower to be replayed: everything of
 * the request that decides which kernels run and which tensors come out (the pruning hook aside:
 * requests with one are never replayed), the batch (channels and image size are the tower's), and
 * the {@code glimpse.cuda.*} system properties, which pick kernels at launch (GEMM, attention
 * shape, 16-bit inputs) and so are fixed inside a graph: flipping one for an A/B run captures anew.
 *
 * @param launchSettings the {@code glimpse.cuda.*} properties as sorted {@code name=value} pairs
 */
record TowerGraphKey(FeatureSelection selection, boolean keepHiddenStates, boolean lastHiddenState, boolean pooled,
                     VisionTaps taps, int batch, String launchSettings) {

    /** The key of {@code request} (without a pruning hook) over {@code batch} images, under the current properties. */
    static TowerGraphKey of(VisionRequest request, int batch) {
        if (request.pruning() != null) {
            throw new IllegalArgumentException("a request with a pruning hook runs eagerly: the hook decides on the host"
                    + " between blocks");
        }
        return new TowerGraphKey(request.selection(), request.keepHiddenStates(), request.lastHiddenState(),
                request.pooled(), request.taps(), batch, launchSettings(System.getProperties()));
    }

    /** The {@code glimpse.cuda.*} entries of {@code properties}, sorted, as {@code a=1,b=2}. */
    static String launchSettings(Properties properties) {
        return LaunchSettings.of(properties, TowerGraphs.PROPERTY);
    }
}
