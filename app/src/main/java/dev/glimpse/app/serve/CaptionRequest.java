package dev.glimpse.app.serve;

import dev.glimpse.tokenpruning.PruningPlan;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.decoder.PositionMode;

import java.nio.file.Path;
import java.util.Optional;

/**
 * One validated {@code POST /v1/caption}: the uploaded media (already in a temp file), the question,
 * the frame budget of a video, the pruning plan and generation length.
 *
 * @param media      the upload: image or video, its temp file and the client's name for it
 * @param question   the question or captioning prompt
 * @param frames     frames to sample from a video (absent for an image)
 * @param plan       the pruning plan, parsed as the CLI's --prune/--budget (with quota: the stages that
 *                   answer once the planner has split the plan's budget over the frames)
 * @param quota      whether prune names quota: the QuoTA planner splits the budget over a video's frames
 * @param positions  the rotary positions of kept visual tokens, when the client chose them
 * @param maxNewTokens most tokens to generate
 * @param trace      whether the response carries the pruning trace
 */
record CaptionRequest(Upload media, String question, Optional<Integer> frames, PruningPlan plan,
                      boolean quota, Optional<PositionMode> positions, int maxNewTokens, boolean trace) {

    /** Which kind of media a request carries: the name of its field. */
    enum Kind {
        IMAGE("image"), VIDEO("video");

        private final String field;

        Kind(String field) {
            this.field = field;
        }

        String field() {
            return field;
        }

        static Optional<Kind> ofField(String name) {
            for (Kind k : values()) {
                if (k.field.equals(name)) {
                    return Optional.of(k);
                }
            }
            return Optional.empty();
        }
    }

    /** Uploaded media in a temp file the caller deletes; {@code name} is the client's file name, for messages. */
    record Upload(Kind kind, Path file, String name) {
    }

    /** What the model is asked about. */
    Media toMedia() {
        return media.kind() == Kind.IMAGE ? Media.imageFile(media.file())
                : Media.video(media.file(), frames.orElseThrow());
    }

    AskOptions askOptions() {
        AskOptions options = AskOptions.defaults().withMaxNewTokens(maxNewTokens).withPruning(plan);
        return positions.map(options::withPositions).orElse(options);
    }
}
