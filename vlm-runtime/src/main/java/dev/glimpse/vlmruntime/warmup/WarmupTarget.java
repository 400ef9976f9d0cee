package dev.glimpse.vlmruntime.warmup;

import dev.glimpse.vlmruntime.api.Answer;
import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.decoder.DecoderSession;

/** What {@link ServeWarmup} asks of a loaded model: answers, and the sizes its synthetic requests need. */
public interface WarmupTarget {

    /** Answers as {@link VisionLanguageModel#ask(Media, String, AskOptions)} does. */
    Answer ask(Media media, String question, AskOptions options);

    /** Side in pixels of the vision tower's square input: the blank image's size. */
    int imageSize();

    /** Token ids of the language model. */
    int vocabSize();

    /** Tokens {@code text} encodes to, without special tokens: how much filler lengthens a question. */
    int textTokens(String text);

    /** Whether a prefill of {@code rows} rows replays from a CUDA graph (CUDA, under the prefill-graph switch). */
    boolean graphsPrefillOf(int rows);

    /** The loaded model itself. */
    static WarmupTarget of(VisionLanguageModel vlm) {
        return new WarmupTarget() {
            @Override
            public Answer ask(Media media, String question, AskOptions options) {
                return vlm.ask(media, question, options);
            }

            @Override
            public int imageSize() {
                return vlm.llava().config().vision().imageSize();
            }

            @Override
            public int vocabSize() {
                return vlm.llava().config().text().vocabSize();
            }

            @Override
            public int textTokens(String text) {
                return vlm.llava().tokenizer().encode(text, false).length;
            }

            @Override
            public boolean graphsPrefillOf(int rows) {
                return !vlm.llava().backend().device().isHost() && DecoderSession.prefillGraphsFor(rows);
            }
        };
    }
}
