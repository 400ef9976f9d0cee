package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.tokenpruning.accounting.PrefillAccounting;
import dev.glimpse.vlmruntime.config.TextConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;

/**
 * A Llama or Qwen2 decoder ({@code LlamaForCausalLM} / {@code Qwen2ForCausalLM} semantics) with one
 * forward implementation parameterised by {@link TextConfig}: embedding, pre-norm layers
 * ({@link DecoderLayer}), final RMSNorm, {@code lm_head} (tied to the embedding when the config
 * says so).
 *
 * <p>Thread-safety: a loaded decoder is immutable; any number of threads may use it at once, each
 * through its own {@link DecoderSession} (a session holds one sequence's KV cache and scratch and
 * is confined to one thread at a time). On the CPU, weights are zero-copy views of the memory-mapped
 * checkpoint, which must stay open while the decoder is used; on a GPU they are uploaded once at load
 * ({@link ResidentWeights}) and the rotary tables live there too.
 */
public final class Decoder implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Decoder.class);
    /** Rotary rows precomputed at load; positions past it are computed per call. */
    private static final int MAX_PRECOMPUTED_POSITIONS = 16384;

    private final TextConfig config;
    private final Backend backend;
    private final DecoderWeights weights;
    private final List<DecoderLayer> layers;
    private final RopeTables rope;
    /** The last closed session's buffers, for the next session of its shape. */
    private final SessionBufferPool sessionBuffers = new SessionBufferPool();
    /** The store of weights this decoder uploaded itself, or null when the caller's store holds them. */
    private final ResidentWeights ownedWeights;

    private Decoder(TextConfig config, Backend backend, DecoderWeights weights, ResidentWeights ownedWeights) {
        this.config = config;
        this.backend = backend;
        this.weights = weights;
        this.ownedWeights = ownedWeights;
        List<DecoderLayer> built = new ArrayList<>();
        for (int l = 0; l < config.numHiddenLayers(); l++) {
            built.add(new DecoderLayer(l, weights.layers().get(l), config));
        }
        this.layers = List.copyOf(built);
        this.rope = new RopeTables(backend, RopeTables.parameters(config),
                Math.min(config.maxPositionEmbeddings(), MAX_PRECOMPUTED_POSITIONS));
    }

    /** Loads the decoder of {@code config} from {@code checkpoint}, finding the weight prefix itself. */
    public static Decoder load(Backend backend, Checkpoint checkpoint, TextConfig config) {
        return load(backend, checkpoint, config, WeightNames.resolve(checkpoint));
    }

    /**
     * Loads the decoder of {@code config} from {@code checkpoint} under {@code names}; on a device
     * backend its weights are uploaded into a store the decoder owns and frees on {@link #close}.
     */
    public static Decoder load(Backend backend, Checkpoint checkpoint, TextConfig config, WeightNames names) {
        ResidentWeights store = new ResidentWeights(backend);
        try {
            Decoder decoder = load(store, store, checkpoint, config, names);
            store.logSummary("decoder");
            return decoder;
        } catch (RuntimeException | Error e) {
            store.close();
            throw e;
        }
    }

    /**
     * Loads the decoder of {@code config} from {@code checkpoint} under {@code names}, its weights
     * placed by {@code store}: the caller's, shared with the rest of a model, which owns the copies.
     */
    public static Decoder load(ResidentWeights store, Checkpoint checkpoint, TextConfig config, WeightNames names) {
        return load(store, null, checkpoint, config, names);
    }

    private static Decoder load(ResidentWeights store, ResidentWeights owned, Checkpoint checkpoint, TextConfig config,
                                WeightNames names) {
        Backend backend = store.backend();
        DecoderWeights weights = DecoderWeights.load(checkpoint, config, names).on(store);
        Decoder decoder = new Decoder(config, backend, weights, owned);
        LOG.info("decoder {}: {} layers, hidden {}, heads {}/{}, vocab {}, rope {}, weights {} ({} MiB) under '{}' on {}",
                config.modelType(), config.numHiddenLayers(), config.hiddenSize(), config.numAttentionHeads(),
                config.numKeyValueHeads(), config.vocabSize(), config.rope().type(), weights.embedTokens().dtype(),
                weights.byteSize() >> 20, names.decoderPrefix(), backend.device());
        return decoder;
    }

    public TextConfig config() {
        return config;
    }

    /** Layers, hidden and FFN sizes, as prefill FLOPs accounting takes them. */
    public PrefillAccounting.DecoderShape shape() {
        return new PrefillAccounting.DecoderShape(config.numHiddenLayers(), config.hiddenSize(), config.intermediateSize());
    }

    public DecoderWeights weights() {
        return weights;
    }

    Backend backend() {
        return backend;
    }

    List<DecoderLayer> layers() {
        return layers;
    }

    SessionBufferPool sessionBuffers() {
        return sessionBuffers;
    }

    RopeTables rope() {
        return rope;
    }

    /**
     * The input embeddings of {@code ids}, F32 [ids.length, hidden] ({@code embed_tokens}), owned by
     * the caller. LLaVA splices image features into such a tensor before prefill.
     */
    public Tensor embed(int[] ids) {
        for (int id : ids) {
            if (id < 0 || id >= config.vocabSize()) {
                throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, "
                        + config.vocabSize() + ")");
            }
        }
        Tensor out = backend.allocate(DType.F32, ids.length, config.hiddenSize());
        backend.embedding(weights.embedTokens(), ids, out);
        return out;
    }

    /**
     * A new sequence: KV cache and scratch for {@code options}, those of the last closed session
     * when it had the same capacity (bucket, {@link CapacityBuckets}) and prefill chunk
     * ({@link SessionBufferPool}), else allocated.
     */
    public DecoderSession newSession(SessionOptions options) {
        int window = config.slidingWindow().orElse(Integer.MAX_VALUE);
        if (config.layerTypes().contains(TextConfig.SLIDING_ATTENTION) && options.maxSequenceLength() > window) {
            throw new IllegalArgumentException("this " + config.modelType() + " config uses sliding-window attention"
                    + " (window " + window + ") which Glimpse does not implement; keep maxSequenceLength <= " + window);
        }
        return new DecoderSession(this, options);
    }

    /**
     * Releases the rotary tables and the weights this decoder uploaded itself; the checkpoint's
     * mapping and a caller's {@link ResidentWeights} are their owners' to close.
     */
    @Override
    public void close() {
        sessionBuffers.close();
        rope.close();
        if (ownedWeights != null) {
            ownedWeights.close();
        }
    }
}
