package dev.glimpse.tokenpruning;

/**
 * One image or frame as a pre-projector selector sees it.
 *
 * @param frame     frame index (0 for a single image)
 * @param grid      its patch grid (LLaVA-1.5: 24 x 24)
 * @param attention vision attention taps, or null for strategies that need none
 */
public record VisualFrame(int frame, TokenGrid grid, VisionAttention attention) {

    public static VisualFrame of(int frame, TokenGrid grid) {
        return new VisualFrame(frame, grid, null);
    }
}
