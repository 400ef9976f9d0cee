package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.vlmruntime.config.TextConfig;

/**
 * The buffers of one {@link DecoderSession} that depend only on its shape: the KV cache, the
 * prefill/decode scratch, the decode step's rows and the logits. A {@link SessionBufferPool} hands
 * a closed session's set to the next session of the same shape, so that session's creation
 * allocates and clears nothing: every buffer is written before it is read (the KV cache up to its
 * lengths, which start at 0 again; scratch rows by the op that produces them), so the stale values
 * a reused set holds are never read.
 *
 * @param cache      KV cache, emptied when the set is handed out again
 * @param scratch    per-layer scratch for {@code shape.prefillRows()} rows
 * @param stepHidden decode step's hidden row [1, hidden]
 * @param stepCos    decode step's rotary cos row [1, rotary/2]
 * @param stepSin    decode step's rotary sin row [1, rotary/2]
 * @param lastNormed final-norm output of the last token [1, hidden]
 * @param logits     next-token logits [1, vocab] on the backend
 * @param hostLogits host copy of the logits on a device backend, null on the host
 * @param prefillGraphs captured prefills over these buffers ({@value PrefillGraphs#PROPERTY}), freed with them
 * @param decodeAhead   decode lookahead's device argmax and saved logits (unless
 *                      {@value DecoderSession#POOL_DECODE_AHEAD_PROPERTY} is false), made by the set's first session that
 *                      decodes ahead ({@link DecodeAheadBuffers}), freed with the set
 */
record SessionBuffers(Shape shape, KvCache cache, DecoderScratch scratch, Tensor stepHidden, Tensor stepCos,
                      Tensor stepSin, Tensor lastNormed, Tensor logits, Tensor hostLogits, PrefillGraphs prefillGraphs,
                      DecodeAheadBuffers decodeAhead)
        implements AutoCloseable {

    /**
     * What a set is made for: two sessions with equal shapes can use each other's buffers.
     *
     * @param capacity    KV cache entries ({@link SessionOptions#maxSequenceLength}, rounded up to its
     *                    {@link CapacityBuckets capacity bucket})
     * @param prefillRows scratch rows (the session's prefill chunk)
     * @param gemmInput   dtype of the scratch's GEMM inputs ({@link DecoderScratch#gemmInputType})
     * @param kvCache     the KV cache entries' dtype ({@link KvCache#dtypeFor}; the property may change between sessions)
     */
    record Shape(int capacity, int prefillRows, DType gemmInput, DType kvCache) {

        /**
         * Whether a set of this shape can serve a session asking for {@code request}: as many KV
         * entries and scratch rows or more, the same dtypes. Nothing a session or its prefill graphs
         * do depends on the entries or rows past what it asked for (readers stop at the cache
         * lengths; a graph runs one chunk of at most the session's own prefill rows).
         */
        boolean holds(Shape request) {
            return capacity >= request.capacity && prefillRows >= request.prefillRows
                    && gemmInput == request.gemmInput && kvCache == request.kvCache;
        }
    }

    /** A fresh set for {@code shape} (zero-filled, as {@link Backend#allocate} makes tensors). */
    static SessionBuffers allocate(Backend backend, TextConfig config, int rotaryDim, Shape shape) {
        int half = rotaryDim / 2;
        KvCache cache = new KvCache(backend, config.numHiddenLayers(), config.numKeyValueHeads(), config.headDim(),
                shape.capacity(), shape.kvCache());
        DecoderScratch scratch = null;
        Tensor[] rows = new Tensor[5];
        try {
            scratch = new DecoderScratch(backend, config, shape.prefillRows(), shape.gemmInput());
            rows[0] = backend.allocate(DType.F32, 1, config.hiddenSize());
            rows[1] = backend.allocate(DType.F32, 1, half);
            rows[2] = backend.allocate(DType.F32, 1, half);
            rows[3] = backend.allocate(DType.F32, 1, config.hiddenSize());
            rows[4] = backend.allocate(DType.F32, 1, config.vocabSize());
            Tensor hostLogits = backend.device().isHost() ? null : Tensor.allocate(DType.F32, 1, config.vocabSize());
            return new SessionBuffers(shape, cache, scratch, rows[0], rows[1], rows[2], rows[3], rows[4], hostLogits,
                    new PrefillGraphs(), new DecodeAheadBuffers());
        } catch (RuntimeException | Error e) {
            cache.close();
            if (scratch != null) {
                scratch.close();
            }
            for (Tensor t : rows) {
                if (t != null) {
                    t.close();
                }
            }
            throw e;
        }
    }

    @Override
    public void close() {
        prefillGraphs.close();
        decodeAhead.close();
        cache.close();
        scratch.close();
        for (Tensor t : new Tensor[] {stepHidden, stepCos, stepSin, lastNormed, logits}) {
            t.close();
        }
        if (hostLogits != null) {
            hostLogits.close();
        }
    }
}
