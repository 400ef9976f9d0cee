package dev.glimpse.vlmruntime.text;

import java.util.ArrayList;
import java.util.List;

/**
 * Incremental detokenisation for generation: feed token ids one at a time and get the text each
 * adds. Uses the prefix/read-offset scheme of Hugging Face's streaming decoders
 * ({@code tokenizers}' {@code DecodeStream}, TGI): the text of {@code ids[prefix:read]} is
 * subtracted from that of {@code ids[prefix:]}, so decoders that treat the first token specially
 * (Metaspace's leading-space strip) behave as in a full decode, and a delta is held back while it
 * ends in U+FFFD (an incomplete UTF-8 sequence from byte-level or byte-fallback pieces). The
 * concatenated deltas plus {@link #flush()} equal {@code decode(allIds)}.
 */
public final class StreamingDecoder {

    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final List<Integer> ids = new ArrayList<>();
    private int prefixOffset;
    private int readOffset;

    StreamingDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Adds {@code id}; returns the text it completes (possibly empty). */
    public String push(int id) {
        ids.add(id);
        String prefix = decode(prefixOffset, readOffset);
        String full = decode(prefixOffset, ids.size());
        if (full.length() > prefix.length() && !full.endsWith("\uFFFD")) {
            String delta = full.substring(prefix.length());
            prefixOffset = readOffset;
            readOffset = ids.size();
            return delta;
        }
        return "";
    }

    /** The text still held back (e.g. an unfinished UTF-8 sequence, rendered with U+FFFD). */
    public String flush() {
        String rest = decode(prefixOffset, ids.size()).substring(decode(prefixOffset, readOffset).length());
        prefixOffset = ids.size();
        readOffset = ids.size();
        return rest;
    }

    private String decode(int from, int to) {
        int[] window = new int[to - from];
        for (int i = from; i < to; i++) {
            window[i - from] = ids.get(i);
        }
        return window.length == 0 ? "" : tokenizer.decode(window, skipSpecialTokens);
    }
}
