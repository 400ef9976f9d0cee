package dev.glimpse.app.serve;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Dispatches requests by exact path and method (404 for an unknown path, 405 with {@code Allow}
 * for a known path and another method), gives each a request id (the client's
 * {@code X-Request-Id} when it is a short token, else a random one; echoed in the response), and
 * turns every failure into a JSON error: {@link HttpError} as itself, anything else as a 500
 * whose stack trace goes to the log only. One access-log line per request.
 */
final class Router implements HttpHandler {

    /** One endpoint's work; throws {@link HttpError} for refusals. */
    @FunctionalInterface
    interface Endpoint {
        void handle(HttpExchange exchange, String requestId) throws IOException;
    }

    private static final Logger log = LoggerFactory.getLogger(Router.class);
    private static final Pattern CLIENT_ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

    private final Map<String, Map<String, Endpoint>> routes = new LinkedHashMap<>();

    Router route(String method, String path, Endpoint endpoint) {
        routes.computeIfAbsent(path, p -> new LinkedHashMap<>()).put(method, endpoint);
        return this;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        long t0 = System.nanoTime();
        String requestId = requestId(exchange.getRequestHeaders().getFirst("X-Request-Id"));
        exchange.getResponseHeaders().set("X-Request-Id", requestId);
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        try (exchange) {
            try {
                endpoint(method, path, exchange).handle(exchange, requestId);
            } catch (HttpError e) {
                JsonResponses.sendError(exchange, e);
            } catch (IOException e) {
                log.warn("request {}: reading the request or writing the response failed: {}", requestId, e.toString());
                if (exchange.getResponseCode() != -1) {
                    return;
                }
                sendQuietly(exchange, HttpError.badRequest("the request could not be read: " + e.getMessage()));
            } catch (RuntimeException | Error e) {
                log.error("request {}: internal error", requestId, e);
                JsonResponses.sendError(exchange, new HttpError(500, "internal_error",
                        "internal error; the server log has the details under request id " + requestId));
            }
            log.info("request {}: {} {} -> {} in {} ms", requestId, method, path, exchange.getResponseCode(),
                    (System.nanoTime() - t0) / 1_000_000);
        }
    }

    /** An error response on a connection that may already be broken. */
    private static void sendQuietly(HttpExchange exchange, HttpError error) {
        try {
            JsonResponses.sendError(exchange, error);
        } catch (IOException e) {
            log.debug("could not send the error response: {}", e.toString());
        }
    }

    private Endpoint endpoint(String method, String path, HttpExchange exchange) {
        Map<String, Endpoint> byMethod = routes.get(path);
        if (byMethod == null) {
            throw new HttpError(404, "not_found", "no endpoint at " + path + "; endpoints: "
                    + String.join(", ", routes.keySet()));
        }
        Endpoint endpoint = byMethod.get(method);
        if (endpoint == null) {
            exchange.getResponseHeaders().set("Allow", String.join(", ", byMethod.keySet()));
            throw new HttpError(405, "method_not_allowed", path + " accepts " + String.join(", ", byMethod.keySet())
                    + ", not " + method);
        }
        return endpoint;
    }

    private static String requestId(String fromClient) {
        if (fromClient != null && CLIENT_ID.matcher(fromClient).matches()) {
            return fromClient;
        }
        return Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 16);
    }
}
