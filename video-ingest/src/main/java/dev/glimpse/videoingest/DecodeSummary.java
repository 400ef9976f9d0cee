package dev.glimpse.videoingest;

/**
 * What decoding a plan cost and what went wrong, for damaged videos in particular.
 *
 * @param framesReturned frames handed to the caller
 * @param framesDecoded  frames the decoder produced (including those skipped between targets)
 * @param decodeErrors   packets or frames the decoder rejected as damaged
 * @param corruptFrames  frames the decoder produced but flagged as corrupt (concealed errors)
 * @param seeks          keyframe seeks performed
 * @param targetsPastEnd targets after the last decodable frame, answered with that last frame
 */
public record DecodeSummary(int framesReturned, long framesDecoded, int decodeErrors,
                            int corruptFrames, int seeks, int targetsPastEnd) {

    /** Whether any part of the video failed to decode cleanly. */
    public boolean damaged() {
        return decodeErrors > 0 || corruptFrames > 0;
    }
}
