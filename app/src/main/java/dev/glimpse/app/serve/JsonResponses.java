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
        byte[] bytes = JSON.writeValueAsBytes(body);
        exchange.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    /**
     * The error, on a connection then closed: the request body may be partly unread (the JDK server
     * reads at most 64 KiB of the rest), so the client must not reuse the connection.
     */
    static void sendError(HttpExchange exchange, HttpError error) throws IOException {
        exchange.getResponseHeaders().set("Connection", "close");
        Map<String, Object> inner = new LinkedHashMap<>();
        inner.put("code", error.code());
        inner.put("message", error.getMessage());
        send(exchange, error.status(), Map.of("error", inner));
    }
}
