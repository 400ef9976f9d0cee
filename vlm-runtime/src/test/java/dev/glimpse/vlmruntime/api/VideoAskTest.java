package dev.glimpse.vlmruntime.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static dev.glimpse.vlmruntime.decoder.DecoderFixture.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A video file end to end: the OneVision fixture's four frames encoded losslessly (PNG in MOV, so
 * decoded pixels equal the PNGs), sampled back with four uniform frames, fed as a video to
 * LLaVA-OneVision (HF's greedy answer for the templated prompt) and as four images to plain LLaVA.
 */
class VideoAskTest {

    private static final LoadOptions CPU = LoadOptions.defaults().withDevice(Backends.Choice.CPU);

    @TempDir
    static Path dir;
    static Path video;

    @BeforeAll
    static void encodeFrames() throws Exception {
        video = FixtureVideo.encode(dir);
    }

    /** Case 2's prompt is what the chat template renders for a video part and this question. */
    @Test
    void onevisionAnswersAVideoFileWithHfGreedyTokens() throws Exception {
        Path folder = DecoderFixture.folder("llava-onevision-qwen2");
        JsonNode case2 = new ObjectMapper().readTree(folder.resolve("expected.json").toFile()).get("cases").get(2);
        try (VisionLanguageModel vlm = Glimpse.load(folder, CPU)) {
            Answer a = vlm.ask(Media.video(video, 4), "What happens in the video?", AskOptions.defaults().withMaxNewTokens(8));
            assertArrayEquals(ints(case2.get("greedy_ids")), a.tokenIds());
            assertEquals(List.of(new Answer.VisualStage("vision", 64, 64), new Answer.VisualStage("projector", 64, 64),
                            new Answer.VisualStage("decoder", 17, 17)),
                    a.counts().visual());
        }
    }

    @Test
    void plainLlavaTakesTheFramesAsImages() {
        try (VisionLanguageModel vlm = Glimpse.load(DecoderFixture.folder("llava-clip-llama"), CPU)) {
            Answer a = vlm.ask(Media.video(video, 4), "What happens?", AskOptions.defaults().withMaxNewTokens(2));
            assertEquals(List.of(new Answer.VisualStage("vision", 64, 64), new Answer.VisualStage("projector", 64, 64),
                            new Answer.VisualStage("decoder", 64, 64)),
                    a.counts().visual());
            assertEquals(2, a.counts().generated());
        }
    }
}
