package dev.glimpse.evalharness.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * results.jsonl, appended one flushed line per question so that a killed run loses at most the
 * line being written. Opening reads the rows already there; a torn last line (no newline, or not
 * valid JSON) is cut off before anything is appended, and its question runs again.
 */
public final class ResultsLog implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ResultsLog.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<ResultRow> rows;
    private final Writer writer;

    private ResultsLog(List<ResultRow> rows, Writer writer) {
        this.rows = rows;
        this.writer = writer;
    }

    /** Opens (or creates) {@code file}, reading the complete rows it holds. */
    public static ResultsLog open(Path file) throws IOException {
        List<ResultRow> rows = new ArrayList<>();
        if (Files.exists(file)) {
            byte[] bytes = Files.readAllBytes(file);
            long good = 0;
            int start = 0;
            for (int i = 0; i < bytes.length; i++) {
                if (bytes[i] == '\n') {
                    String line = new String(bytes, start, i - start, StandardCharsets.UTF_8).strip();
                    if (!line.isEmpty()) {
                        try {
                            rows.add(ResultRow.fromJson(JSON.readTree(line)));
                        } catch (JsonProcessingException | RuntimeException e) {
                            throw new IOException(file + ": line " + (rows.size() + 1) + " is not a result row ("
                                    + e.getMessage() + "); move the file away or use another --out", e);
                        }
                    }
                    good = i + 1;
                    start = i + 1;
                }
            }
            if (good < bytes.length) {
                LOG.info("{}: dropping a torn last line ({} bytes)", file, bytes.length - good);
                try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    ch.truncate(good);
                }
            }
        }
        Writer writer = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        return new ResultsLog(rows, writer);
    }

    /** Every row read at opening and appended since. */
    public List<ResultRow> rows() {
        return List.copyOf(rows);
    }

    /** Appends {@code row} as one line and flushes it. */
    public void append(ResultRow row, EvalConfig config) throws IOException {
        writer.write(JSON.writeValueAsString(row.toJson(config)));
        writer.write('\n');
        writer.flush();
        rows.add(row);
    }

    @Override
    public void close() throws IOException {
        writer.close();
    }
}
