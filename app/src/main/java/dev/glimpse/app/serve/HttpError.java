package dev.glimpse.app.serve;

/**
 * A request the service refuses, with the HTTP status, a stable machine-readable code and a
 * message the client can act on (it names the field, limit or content type). Rendered as
 * {@code {"error": {"code": ..., "message": ...}}} by {@link JsonResponses}.
 */
final class HttpError extends RuntimeException {

    private final int status;
    private final String code;

    HttpError(int status, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
    }

    static HttpError badField(String field, String problem) {
        return new HttpError(400, "invalid_field", "field '" + field + "': " + problem);
    }

    static HttpError badRequest(String message) {
        return new HttpError(400, "bad_request", message);
    }

    static HttpError tooLarge(long limit) {
        return new HttpError(413, "request_too_large", "the request body is larger than the limit of " + limit
                + " bytes (the server's --max-request-bytes)");
    }

    static HttpError unsupportedType(String message) {
        return new HttpError(415, "unsupported_media_type", message);
    }

    static HttpError unprocessable(String message) {
        return new HttpError(422, "undecodable_media", message);
    }

    /** The QuoTA planner refused the request (model, budget or frames), in its own words. */
    static HttpError quotaNotApplicable(String message) {
        return new HttpError(422, "quota_not_applicable", message);
    }

    int status() {
        return status;
    }

    String code() {
        return code;
    }
}
