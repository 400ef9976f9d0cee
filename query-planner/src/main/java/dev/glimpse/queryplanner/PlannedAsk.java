package dev.glimpse.queryplanner;

import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;

/**
 * A question about a video that the QuoTA planner has planned ({@link QuotaPlanner#prepare}),
 * ready for {@code VisionLanguageModel#ask(video, question, options)}.
 *
 * @param plan    what the planner decided
 * @param video   the frames it scored, as the video to ask about: the video was decoded once, for
 *                planning and answering alike, and only its sampled frames are held
 * @param options the request's options with the planner's per-frame budgets
 */
public record PlannedAsk(QuotaPlan plan, Media.VideoFrames video, AskOptions options) {
}
