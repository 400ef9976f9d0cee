package dev.glimpse.app.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.app.QuotaRequest;
import dev.glimpse.kernels.Backends;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Glimpse;
import dev.glimpse.vlmruntime.api.LoadOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code prune=quota} in {@code POST /v1/caption}: a video request is planned by QuoTA and answered
 * as {@code glimpse ask --prune quota} answers it, the plan under {@code pruning.quota}; requests
 * that {@code ask} refuses are refused with its words (400 naming the field), and a plan the
 * planner cannot make is a 422.
 */
class ServeQuotaTest {

    static final String QUESTION = "What shape was the orange object?";

    static VisionLanguageModel vlm;
    static CaptionServer server;
    static ServeClient client;
    static byte[] clip;

    @BeforeAll
    static void start() throws IOException {
        vlm = Glimpse.load(ServeEndpointsTest.MODEL, LoadOptions.defaults().withDevice(Backends.Choice.parse("cpu")));
        ServeLimits limits = new ServeLimits(ServeEndpointsTest.MAX_REQUEST_BYTES, 1, 4, 16, 64, Duration.ofSeconds(5));
        server = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), Captioner.of(vlm),
                ModelDescription.of(vlm, limits), limits);
        client = new ServeClient(server);
        clip = Files.readAllBytes(ServeEndpointsTest.CLIP);
    }

    @AfterAll
    static void stop() {
        server.stop();
        vlm.close();
    }

    @Test
    void videoWithQuotaIsPlannedAndAnsweredAsGlimpseAsk() throws IOException {
        JsonNode ask = ServeEndpointsTest.askJson("--video", ServeEndpointsTest.CLIP.toString(), "--frames", "4",
                "--prune", "quota", "--budget", "32", "--max-new-tokens", "8", QUESTION);
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", clip, Map.of("question", QUESTION,
                "frames", "4", "prune", "quota", "budget", "32", "max_new_tokens", "8"));
        assertEquals(200, r.status(), r.body().toString());
        assertTrue(r.body().at("/pruning/plan").asText().startsWith("quota+"), r.body().toString());
        assertEquals(ask.at("/pruning/plan"), r.body().at("/pruning/plan"));
        assertEquals(128, r.body().at("/pruning/quota/total_budget").asInt(), r.body().toString());
        assertEquals(ask.at("/pruning/quota/frame_probabilities"), r.body().at("/pruning/quota/frame_probabilities"));
        assertEquals(ask.at("/pruning/quota/frame_budgets"), r.body().at("/pruning/quota/frame_budgets"));
        assertEquals(ask.at("/tokens/visual"), r.body().at("/tokens/visual"));
        assertEquals(ask.get("answer"), r.body().get("answer"));
        assertTrue(r.body().path("trace").isMissingNode(), "trace only when asked");
        ServeEndpointsTest.assertNoUploadLeft();
    }

    /**
     * The model is asked about the frames the planner decoded (Media.VideoFrames): serve decodes the
     * video once, as ask does, and resizes each frame to its share when no selector is named.
     */
    @Test
    void theAnswerIsAskedAboutTheFramesThePlannerDecoded() throws IOException {
        List<Media> asked = new CopyOnWriteArrayList<>();
        Captioner model = Captioner.of(vlm);
        Captioner recording = new Captioner() {
            @Override
            public Answer caption(Media media, String question, AskOptions options) {
                asked.add(media);
                return model.caption(media, question, options);
            }

            @Override
            public QuotaRequest planQuota(Media video, String question, AskOptions options) {
                return model.planQuota(video, question, options);
            }
        };
        ServeLimits limits = new ServeLimits(ServeEndpointsTest.MAX_REQUEST_BYTES, 1, 4, 16, 64, Duration.ofSeconds(5));
        CaptionServer recorded = CaptionServer.start(new InetSocketAddress("127.0.0.1", 0), recording,
                ModelDescription.of(vlm, limits), limits);
        try {
            ServeClient.Reply r = new ServeClient(recorded).postJson("video", clip, Map.of("question", QUESTION,
                    "frames", 2, "prune", "quota", "budget", "16", "max_new_tokens", 1));
            assertEquals(200, r.status(), r.body().toString());
            assertEquals("quota+bilinear", r.body().at("/pruning/plan").asText(), "ask's default: each frame resized");
            assertEquals(1, asked.size());
            assertEquals(2, assertInstanceOf(Media.VideoFrames.class, asked.getFirst()).frames().size());
        } finally {
            recorded.stop();
        }
    }

    /** quota+vtc-cls with a video total: each frame keeps its share by [CLS] attention; the trace carries p_t. */
    @Test
    void quotaWithASelectorAndAVideoTotalKeepsEachShareWithIt() {
        ServeClient.Reply r = client.postJson("video", clip, Map.of("question", QUESTION, "frames", 2,
                "prune", "quota+vtc-cls", "budget", "100/video", "max_new_tokens", 1, "trace", true));
        assertEquals(200, r.status(), r.body().toString());
        assertEquals("quota+vtc-cls", r.body().at("/pruning/plan").asText());
        assertEquals(100, r.body().at("/pruning/quota/total_budget").asInt());
        JsonNode budgets = r.body().at("/pruning/quota/frame_budgets");
        assertEquals(budgets.get(0).asInt() + budgets.get(1).asInt(),
                r.body().at("/tokens/visual/projector/kept").asInt(), r.body().toString());
        assertEquals(r.body().at("/pruning/quota/frame_probabilities"), r.body().at("/trace/stages/0/frameScores"));
    }

    @Test
    void quotaOnAnImageIs400NamingPrune() throws IOException {
        ServeClient.Reply r = client.postMultipart("image", "scene.png", Files.readAllBytes(ServeEndpointsTest.IMAGE),
                Map.of("prune", "quota", "budget", "32"));
        assertEquals(400, r.status(), r.body().toString());
        assertEquals("invalid_field", r.errorCode());
        assertTrue(r.errorMessage().startsWith("field 'prune': --prune quota plans the frames of a video"),
                r.errorMessage());
    }

    @Test
    void quotaWithoutABudgetIs400NamingBudget() {
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", clip, Map.of("prune", "quota"));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("field 'budget': --prune quota needs --budget"), r.errorMessage());
    }

    @Test
    void quotaWithPoolingIs400NamingPrune() {
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", clip, Map.of("prune", "quota+pool", "budget", "32"));
        assertEquals(400, r.status(), r.body().toString());
        assertTrue(r.errorMessage().startsWith("field 'prune': --prune quota keeps each frame's share with"),
                r.errorMessage());
        assertTrue(r.errorMessage().endsWith("not pool"), r.errorMessage());
    }

    /** One token for four frames: QuoTA's floor(N w_t) leaves every frame at 0, which the planner refuses. */
    @Test
    void aBudgetThePlannerCannotSplitIs422() {
        ServeClient.Reply r = client.postMultipart("video", "clip.mp4", clip,
                Map.of("prune", "quota", "budget", "1/video", "frames", "4"));
        assertEquals(422, r.status(), r.body().toString());
        assertEquals("quota_not_applicable", r.errorCode());
        assertTrue(r.errorMessage().contains("leaves every frame at 0"), r.errorMessage());
    }
}
