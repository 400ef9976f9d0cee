package dev.glimpse.app.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.util.LinkedHashMap;
import java.util.Map;

/** Writes JSON responses, and errors as {@code {"error": {"code": ..., "message": ...}}}. */
final class JsonResponses {

    private static final ObjectMapper JSON = new ObjectMapper();

    private JsonResponses() {
    }

    static void send(HttpExchange exchange, int status, Object body) throws IOException {
        writeFlushed(exchange, status, body).close();
    }

    /**
     * The error, on a connection then closed. The request body may be partly unread, so the client
     * must not reuse the connection; what it still sends is discarded after the response is flushed
     * ({@link LingeringClose}), so that a client still writing its body reads the error rather than a reset.
     */
    static void sendError(HttpExchange exchange, HttpError error) throws IOException {
        exchange.getResponseHeaders().set("Connection", "close");
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("code", error.code());
        inner.put("message", error.getMessage());
        try (OutputStream out = writeFlushed(exchange, error.status(), Map.of("error", inner))) {
            LingeringClose.discardRest(exchange.getRequestBody());
        }
    }

    /** Sends the status and the whole body, flushed to the client; closing the stream ends the exchange. */
    private static OutputStream writeFlushed(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        OutputStream out = exchange.getResponseBody();
        out.write(bytes);
        out.flush();
        return out;
    }
}
