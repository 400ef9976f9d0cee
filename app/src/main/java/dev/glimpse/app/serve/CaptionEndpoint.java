package dev.glimpse.app.serve;

import com.sun.net.httpserver.HttpExchange;
import dev.glimpse.app.AnswerJson;
import dev.glimpse.app.QuotaRequest;
import dev.glimpse.videoingest.CorruptMediaException;
import dev.glimpse.videoingest.MediaException;
import dev.glimpse.videoingest.MediaLimitExceededException;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.UnreadableMediaException;
import dev.glimpse.videoingest.UnsupportedMediaException;
import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * {@code POST /v1/caption}: refuses it while the server warms up ({@link Readiness}; 503 with Retry-After),
 * admits the request ({@link AdmissionGate}; 503 when full), refuses a
 * declared Content-Length over the limit before reading (413), reads the body within the limit
 * into a temp media file (then reads what trails the form or object, so the connection can be
 * kept alive), waits for a model slot, plans the frame budgets with QuoTA when {@code prune} names
 * quota (in the same slot: the planner runs the model, and the frames it decoded are the ones
 * captioned, so the video is decoded once), captions, and answers with the JSON of
 * {@code glimpse ask --json} (the plan under {@code pruning.quota}). The temp file is deleted
 * whatever happens, before the response. Media errors map to status codes: unsupported format 415,
 * undecodable or over a media limit 422 (file size 413); the planner's refusals are 422.
 */
final class CaptionEndpoint implements Router.Endpoint {

    private static final Logger log = LoggerFactory.getLogger(CaptionEndpoint.class);
    private static final Pattern CLI_HINT = Pattern.compile("\\s*\\(raise it with --[a-z-]+\\)$");

    private final Captioner captioner;
    private final ServeLimits limits;
    private final AdmissionGate gate;
    private final Readiness readiness;

    CaptionEndpoint(Captioner captioner, ServeLimits limits, Readiness readiness) {
        this.captioner = captioner;
        this.limits = limits;
        this.readiness = readiness;
        this.gate = new AdmissionGate(limits.maxConcurrent(), limits.maxQueued());
    }

    @Override
    public void handle(HttpExchange exchange, String requestId) throws IOException {
        readiness.requireReady(exchange);
        if (declaredTooLarge(exchange.getRequestHeaders().getFirst("Content-Length"))) {
            throw HttpError.tooLarge(limits.maxRequestBytes());
        }
        Map<String, Object> response;
        try (AdmissionGate.Ticket ticket = gate.admit()) {
            Path mediaFile = newMediaFile();
            try {
                CaptionRequest request = readBody(exchange, mediaFile);
                response = ticket.whenRunning(() -> caption(request, requestId));
            } finally {
                Files.deleteIfExists(mediaFile);
            }
        }
        JsonResponses.send(exchange, 200, response);
    }

    /** A private temp file (owner-only on POSIX); failing to make one is the server's problem, a 500. */
    private static Path newMediaFile() {
        try {
            return Files.createTempFile("glimpse-upload-", ".media");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temp file for the upload", e);
        }
    }

    private boolean declaredTooLarge(String contentLength) {
        if (contentLength == null || !contentLength.strip().matches("\\d+")) {
            return false;
        }
        String digits = contentLength.strip();
        return digits.length() > 18 || Long.parseLong(digits) > limits.maxRequestBytes();
    }

    private CaptionRequest readBody(HttpExchange exchange, Path mediaFile) throws IOException {
        BoundedInputStream body = new BoundedInputStream(exchange.getRequestBody(), limits.maxRequestBytes());
        try {
            CaptionRequest request = CaptionBodyReader.read(exchange.getRequestHeaders().getFirst("Content-Type"),
                    body, mediaFile, limits);
            body.transferTo(OutputStream.nullOutputStream());
            return request;
        } catch (RequestTooLargeException e) {
            throw HttpError.tooLarge(limits.maxRequestBytes());
        }
    }

    /** The answer's JSON, with the QuoTA plan when the request names quota. */
    private Map<String, Object> caption(CaptionRequest request, String requestId) {
        Media media = request.toMedia();
        AskOptions options = request.askOptions();
        Optional<QuotaRequest> quota = request.quota()
                ? Optional.of(planQuota(request, media, options)) : Optional.empty();
        Answer answer;
        try {
            answer = captioner.caption(quota.map(QuotaRequest::video).orElse(media), request.question(),
                    quota.map(QuotaRequest::options).orElse(options));
        } catch (MediaException e) {
            throw mediaError(e, request.media());
        } catch (IllegalArgumentException e) {
            throw HttpError.unprocessable(clientMessage(e, request.media()));
        }
        log.info("request {}: {} '{}' -> {} tokens", requestId, request.media().kind().field(),
                request.media().name(), answer.counts().generated());
        Map<String, Object> json = AnswerJson.of(answer, request.trace());
        quota.ifPresent(q -> q.addTo(json, answer, request.trace()));
        return json;
    }

    private QuotaRequest planQuota(CaptionRequest request, Media video, AskOptions options) {
        try {
            return captioner.planQuota(video, request.question(), options);
        } catch (MediaException e) {
            throw mediaError(e, request.media());
        } catch (IllegalArgumentException e) {
            throw HttpError.quotaNotApplicable(clientMessage(e, request.media()));
        }
    }

    private static HttpError mediaError(MediaException e, CaptionRequest.Upload media) {
        String message = clientMessage(e, media);
        return switch (e) {
            case UnsupportedMediaException u -> HttpError.unsupportedType(message);
            case MediaLimitExceededException l when l.limit() == MediaLimits.Limit.FILE_BYTES ->
                    new HttpError(413, "request_too_large", withServerFlag(message, "--max-request-bytes"));
            case MediaLimitExceededException l ->
                    new HttpError(422, "media_limit_exceeded", withServerFlag(message, l.limit().flag()));
            case CorruptMediaException c -> HttpError.unprocessable(message);
            case UnreadableMediaException r -> HttpError.unprocessable(message);
        };
    }

    /**
     * A media limit's message with its "(raise it with --flag)", advice for whoever runs the server,
     * turned into "(the server's --flag)": the client learns which of the server's limits it met.
     */
    private static String withServerFlag(String message, String flag) {
        return CLI_HINT.matcher(message).replaceFirst(" (the server's " + flag + ")");
    }

    /** The runtime's message with the server's temp path replaced by the client's name for the upload. */
    private static String clientMessage(RuntimeException e, CaptionRequest.Upload media) {
        String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return message.replace(media.file().toString(), media.name());
    }
}
