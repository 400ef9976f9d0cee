package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.GemmInputs;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.visionencoder.config.VisionConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * A CLIP or SigLIP vision tower ({@code CLIPVisionModel}, {@code SiglipVisionModel}) as one
 * forward implementation parameterised by its {@link VisionConfig}: {@link VisionEmbeddings}, the
 * {@link EncoderBlock}s, {@code post_layernorm} and, for SigLIP, the {@link AttentionPoolingHead}.
 * Where the families differ the config decides: CLIP has a [CLS] token and {@code pre_layrnorm},
 * and its {@code post_layernorm} only makes the pooled [CLS] vector; SigLIP has neither, and its
 * {@code last_hidden_state} is the post-layernormed sequence that the pooling head reads.
 *
 * <p>{@link #encode} takes a batch of images or video frames and runs only the layers the request
 * needs; cost is linear in the batch. Thread-safe: a call keeps its state in its own scratch.
 *
 * <p>On a {@link CudaBackend} a request without a pruning hook is replayed from a CUDA graph from
 * its second call on ({@link TowerGraphs}: one launch instead of hundreds of host calls);
 * {@code -Dglimpse.cuda.visionGraphs=false} runs every call op by op. {@link #close} frees the graphs.
 */
public final class VisionTransformer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(VisionTransformer.class);

    private final Backend backend;
    private final VisionConfig config;
    private final VisionWeights weights;
    private final VisionEmbeddings embeddings;
    private final List<EncoderBlock> blocks;
    private final AttentionPoolingHead head;
    /** Replayed forward passes on a CUDA backend, else null. */
    private final TowerGraphs graphs;

    /**
     * A tower over {@code weights}, which must be where {@code backend} computes (host views for a
     * host backend; {@link VisionWeights#on} places them on a device).
     *
     * @throws IllegalArgumentException when the weights are on another device than the backend
     */
    public VisionTransformer(Backend backend, VisionWeights weights) {
        Tensor probe = weights.embeddings().patch().weight();
        if (!probe.device().equals(backend.device())) {
            throw new IllegalArgumentException("vision weights are on " + probe.device() + " but the " + backend.name()
                    + " backend computes on " + backend.device() + "; place them with VisionWeights.on(ResidentWeights)");
        }
        this.backend = backend;
        this.config = weights.config();
        this.weights = weights;
        this.embeddings = new VisionEmbeddings(backend, config, weights.embeddings(), weights.preLayerNorm());
        this.blocks = weights.layers().stream().map(w -> new EncoderBlock(backend, config, w)).toList();
        this.head = weights.head() == null ? null : new AttentionPoolingHead(backend, config, weights.head());
        this.graphs = backend instanceof CudaBackend cuda ? new TowerGraphs(cuda, this) : null;
    }

    /**
     * Loads the tower from a checkpoint (finding its weights under the known prefixes). On a device
     * backend the weights are uploaded by a store of their own, freed when the backend closes; a
     * model that should free them earlier passes its own {@link ResidentWeights}.
     */
    public static VisionTransformer load(Backend backend, Checkpoint checkpoint, VisionConfig config) {
        return load(new ResidentWeights(backend), checkpoint, config);
    }

    /** Loads the tower from a checkpoint, its weights placed by {@code store} (which owns device copies). */
    public static VisionTransformer load(ResidentWeights store, Checkpoint checkpoint, VisionConfig config) {
        VisionWeights weights = VisionWeights.load(checkpoint, config).on(store);
        LOG.info("vision tower {}: {} layers, hidden {}, {} tokens per image, weights under '{}' in {} on {}",
                config.modelType(), config.numHiddenLayers(), config.hiddenSize(),
                config.numPatches() + (config.hasClassToken() ? 1 : 0), weights.root(), weights.origin(),
                store.backend().device());
        return new VisionTransformer(store.backend(), weights);
    }

    public VisionConfig config() {
        return config;
    }

    public VisionWeights weights() {
        return weights;
    }

    /**
     * Encodes {@code pixelValues} [B, num_channels, image_size, image_size] F32, as the image
     * processor makes them.
     *
     * @throws PixelValuesException     when the pixels do not fit the config
     * @throws IllegalArgumentException when the request asks for what this tower cannot give
     *                                  (a layer it lacks, [CLS] attention of SigLIP, a missing head)
     */
    public VisionOutput encode(Tensor pixelValues, VisionRequest request) {
        requirePixels(pixelValues);
        boolean replayed = graphs != null && TowerGraphs.enabled();
        Plan plan = plan(request, replayed);
        if (replayed && request.pruning() == null) {
            return graphs.encode(pixelValues, plan);
        }
        return encodeEagerly(pixelValues, plan, null);
    }

    /**
     * Frees the CUDA graphs of replayed requests and their buffers (nothing on other backends). The
     * tower stays usable: later calls capture again.
     */
    @Override
    public void close() {
        if (graphs != null) {
            graphs.close();
        }
    }

    /**
     * What {@link #encode} computes for {@code request} with CUDA graphs on, run op by op without
     * capturing or replaying anything: the reference a replayed pass must equal bit for bit.
     */
    VisionOutput encodeOpByOp(Tensor pixelValues, VisionRequest request) {
        requirePixels(pixelValues);
        return encodeEagerly(pixelValues, plan(request, graphs != null), null);
    }

    /** Passes replayed from CUDA graphs so far (0 off CUDA); for tests. */
    int graphReplays() {
        return graphs == null ? 0 : graphs.replays();
    }

    /** CUDA graphs captured so far (0 off CUDA); for tests. */
    int graphCaptures() {
        return graphs == null ? 0 : graphs.captures();
    }

    /**
     * {@link #encode} op by op; {@code outputShapes}, when not null, receives the shape of every
     * tensor the output owns, in the order they are allocated (what a replay must allocate up front).
     */
    VisionOutput encodeEagerly(Tensor pixelValues, Plan plan, List<int[]> outputShapes) {
        int batch = pixelValues.dim(0);
        boolean perImage = plan.request.pruning() != null;
        int runBatch = perImage ? 1 : batch;
        long start = System.nanoTime();
        List<Tensor> owned = new ArrayList<>();
        OutputTensors outputs = shape -> {
            Tensor t = backend.allocate(DType.F32, shape);
            owned.add(t);
            if (outputShapes != null) {
                outputShapes.add(shape.clone());
            }
            return t;
        };
        List<EncodedImage> images = new ArrayList<>(batch);
        Tensor stacked = null;
        try (ForwardScratch scratch = newScratch(runBatch, plan)) {
            for (int first = 0; first < batch; first += runBatch) {
                Run run = forward(plan, scratch, outputs, pixelValues.slice(0, first, first + runBatch));
                images.addAll(run.images(UnaryOperator.identity()));
                stacked = runBatch == batch ? run.features : null;
            }
        } catch (RuntimeException | Error e) {
            owned.forEach(Tensor::close);
            throw e;
        }
        LOG.debug("encoded {} image(s) through {} of {} layers in {} ms", batch, plan.blocksToRun,
                config.numHiddenLayers(), (System.nanoTime() - start) / 1_000_000);
        return new VisionOutput(images, stacked, owned);
    }

    /** The working memory of a forward pass of {@code batch} images for {@code plan}. */
    ForwardScratch newScratch(int batch, Plan plan) {
        return new ForwardScratch(backend, batch, embeddings.tokens(), config.hiddenSize(), config.intermediateSize(),
                config.numPatches(), config.numChannels() * config.patchSize() * config.patchSize(),
                gemmInputType(batch * embeddings.tokens(), plan.blocksToRun));
    }

    /**
     * One forward pass of {@code pixels} (all of them, or one image under a pruning hook) in
     * {@code scratch}, every tensor the caller receives taken from {@code outputs}.
     */
    Run forward(Plan plan, ForwardScratch scratch, OutputTensors outputs, Tensor pixels) {
        Run run = new Run(plan, scratch, outputs, pixels.dim(0));
        run.forward(pixels);
        return run;
    }

    /** Where a forward pass gets the F32 tensors it hands out (features, taps, pooled, ...). */
    @FunctionalInterface
    interface OutputTensors {
        Tensor allocate(int... shape);
    }

    /**
     * The dtype the blocks give their q/k/v, fc1 and fc2 inputs ({@link GemmInputs}): the weights'
     * F16/BF16 where the backend's GEMM rounds x of {@code rows} rows to it anyway, else F32.
     */
    private DType gemmInputType(int rows, int blocksToRun) {
        List<Tensor> inputs = new ArrayList<>();
        for (VisionWeights.BlockWeights w : weights.layers().subList(0, blocksToRun)) {
            inputs.addAll(List.of(w.query().weight(), w.key().weight(), w.value().weight(), w.fc1().weight(),
                    w.fc2().weight()));
        }
        return GemmInputs.dtype(backend, rows, inputs.toArray(Tensor[]::new));
    }

    // ------------------------------------------------------------------ request checks

    /**
     * What a request needs: hidden-state indices, taps, and how many blocks to run;
     * {@code queryRowsByProducts} computes [CLS] and probe attention rows with
     * {@link QueryAttentionRow} rather than the attention call's row capture (whose host row
     * indices a CUDA graph cannot replay): on a CUDA backend with graphs on, for every request, so
     * that a request's eager and replayed calls compute alike.
     */
    record Plan(VisionRequest request, int[] selected, VisionTaps taps, int blocksToRun, boolean queryRowsByProducts) {
    }

    private Plan plan(VisionRequest request, boolean queryRowsByProducts) {
        int layers = config.numHiddenLayers();
        int[] selected = request.selection() == null ? new int[0] : request.selection().resolve(layers);
        VisionTaps taps = request.allTaps();
        if (!taps.layers().isEmpty() && taps.layers().last() >= layers) {
            throw new IllegalArgumentException("tap layer " + taps.layers().last() + " does not exist: the vision tower has "
                    + layers + " layers (0 .. " + (layers - 1) + ")");
        }
        if (!config.hasClassToken() && taps.kinds().contains(VisionTaps.Tap.CLS_ATTENTION)) {
            throw new IllegalArgumentException(config.modelType() + " has no [CLS] token: tap PROBE_ATTENTION or "
                    + "MEAN_ATTENTION_RECEIVED instead of CLS_ATTENTION");
        }
        boolean needsHead = taps.wantsProbeAttention() || (request.pooled() && !config.hasClassToken());
        if (needsHead && head == null) {
            throw new IllegalArgumentException(config.modelType() + " tower has no attention-pooling head "
                    + "(vision_use_head is false): no pooler output or probe attention");
        }
        int blocks = Arrays.stream(selected).max().orElse(0);
        blocks = Math.max(blocks, taps.deepestLayer() + 1);
        if (request.lastHiddenState() || request.pooled() || taps.wantsProbeAttention()) {
            blocks = layers;
        }
        return new Plan(request, selected, taps, blocks, queryRowsByProducts);
    }

    private void requirePixels(Tensor pixels) {
        int c = config.numChannels();
        int size = config.imageSize();
        if (pixels.rank() != 4 || pixels.dtype() != DType.F32 || pixels.dim(0) < 1 || pixels.dim(1) != c
                || pixels.dim(2) != size || pixels.dim(3) != size) {
            throw new PixelValuesException("pixel_values must be F32 [batch >= 1, " + c + ", " + size + ", " + size
                    + "] (num_channels and image_size of the " + config.modelType() + " config), got " + pixels);
        }
    }

    // ------------------------------------------------------------------ one forward pass

    /** One forward pass over a batch (the whole input, or one image when a pruning hook runs). */
    final class Run {
        private final Plan plan;
        private final ForwardScratch scratch;
        private final OutputTensors outputs;
        private final int batch;
        private final int hidden = config.hiddenSize();
        private final Map<Integer, Tensor> states = new HashMap<>();
        private final Map<Integer, int[]> stateTokens = new HashMap<>();
        private final SortedMap<Integer, TapBuffers> taps = new TreeMap<>();
        private final Map<Integer, int[]> tapTokens = new HashMap<>();
        private int tokens = embeddings.tokens();
        private int[] tokenIndices = IntStream.range(0, tokens).toArray();
        private Tensor lastHidden;
        private Tensor pooled;
        private Tensor probe;
        private Tensor features;
        private int[] featureTokens;

        Run(Plan plan, ForwardScratch scratch, OutputTensors outputs, int batch) {
            this.plan = plan;
            this.scratch = scratch;
            this.outputs = outputs;
            this.batch = batch;
        }

        void forward(Tensor pixels) {
            try {
                embeddings.forward(pixels, scratch, residual());
                recordState(0);
                for (int l = 0; l < plan.blocksToRun; l++) {
                    TapBuffers tb = null;
                    if (plan.taps.tapsLayer(l)) {
                        tb = new TapBuffers(backend, outputs, plan.taps, l, batch, config.numAttentionHeads(), tokens,
                                plan.queryRowsByProducts);
                        taps.put(l, tb);
                        tapTokens.put(l, tokenIndices);
                    }
                    blocks.get(l).forward(scratch, batch, tokens, tb);
                    recordState(l + 1);
                    if (plan.request.pruning() != null && l + 1 < plan.blocksToRun) {
                        prune(l, tb);
                    }
                }
                if (plan.request.lastHiddenState() || plan.request.pooled() || plan.taps.wantsProbeAttention()) {
                    finish();
                }
                if (plan.selected.length > 0) {
                    assembleFeatures();
                }
            } finally {
                if (!plan.request.keepHiddenStates()) {
                    states.values().forEach(Tensor::close);
                }
            }
        }

        private Tensor residual() {
            return ForwardScratch.view(scratch.residual, batch, tokens, hidden);
        }

        private Tensor own(int... shape) {
            return outputs.allocate(shape);
        }

        private void recordState(int index) {
            if (!states.containsKey(index) && Arrays.stream(plan.selected).anyMatch(s -> s == index)) {
                Tensor copy = plan.request.keepHiddenStates() ? own(batch, tokens, hidden)
                        : backend.allocate(DType.F32, batch, tokens, hidden);
                backend.copy(residual(), copy);
                states.put(index, copy);
                stateTokens.put(index, tokenIndices);
            }
        }

        /** Asks the hook which rows go on and gathers them (batch is 1 here). */
        private void prune(int layer, TapBuffers tb) {
            BlockPruningHook.BlockOutput view = new BlockPruningHook.BlockOutput(layer, tokenIndices.clone(),
                    residual().select(0, 0), tb == null ? null : tb.forImage(layer, 0, tokenIndices),
                    config.hasClassToken());
            KeepSet keep = plan.request.pruning().afterBlock(view);
            int[] rows = keptRows(keep, layer);
            if (rows.length == tokens) {
                return;
            }
            Tensor kept = ForwardScratch.view(scratch.residualMid, 1, rows.length, hidden);
            backend.gatherRows(residual().select(0, 0), rows, kept.select(0, 0));
            tokens = rows.length;
            backend.copy(kept, residual());
            int[] before = tokenIndices;
            tokenIndices = Arrays.stream(rows).map(r -> before[r]).toArray();
        }

        private int[] keptRows(KeepSet keep, int layer) {
            if (keep instanceof KeepSet.All) {
                return IntStream.range(0, tokens).toArray();
            }
            int[] asked = ((KeepSet.Rows) keep).rows();
            for (int r : asked) {
                if (r < 0 || r >= tokens) {
                    throw new IllegalArgumentException("pruning hook after layer " + layer + " kept row " + r
                            + ", outside the " + tokens + " current tokens");
                }
            }
            IntStream rows = Arrays.stream(asked);
            if (config.hasClassToken()) {
                rows = IntStream.concat(IntStream.of(0), rows);
            }
            int[] out = rows.distinct().sorted().toArray();
            if (out.length == 0) {
                throw new IllegalArgumentException("pruning hook after layer " + layer + " kept no tokens");
            }
            return out;
        }

        /** last_hidden_state, pooler_output and the probe attention. */
        private void finish() {
            Tensor h = residual();
            VisionWeights.LayerNormWeights post = weights.postLayerNorm();
            float eps = (float) config.layerNormEps();
            if (config.hasClassToken()) {
                if (plan.request.lastHiddenState()) {
                    lastHidden = own(batch, tokens, hidden);
                    backend.copy(h, lastHidden);
                }
                if (plan.request.pooled()) {
                    pooled = own(batch, hidden);
                    backend.layerNorm(h.slice(1, 0, 1), post.weight(), post.bias(), eps, pooled.reshape(batch, 1, hidden));
                }
                return;
            }
            Tensor normed = plan.request.lastHiddenState() ? own(batch, tokens, hidden)
                    : ForwardScratch.view(scratch.residualMid, batch, tokens, hidden);
            backend.layerNorm(h, post.weight(), post.bias(), eps, normed);
            lastHidden = plan.request.lastHiddenState() ? normed : null;
            if (plan.request.pooled() || plan.taps.wantsProbeAttention()) {
                Tensor pooledOut = plan.request.pooled() ? own(batch, hidden) : backend.allocate(DType.F32, batch, hidden);
                probe = plan.taps.wantsProbeAttention() ? own(batch, config.numAttentionHeads(), tokens) : null;
                head.forward(normed, scratch, pooledOut, probe, plan.queryRowsByProducts);
                if (plan.request.pooled()) {
                    pooled = pooledOut;
                } else {
                    pooledOut.close();
                }
            }
        }

        /**
         * Concatenates the selected states on the feature dim, over the tokens that reached the
         * deepest selected state, less the first with the "default" strategy.
         */
        private void assembleFeatures() {
            int deepest = Arrays.stream(plan.selected).max().orElseThrow();
            int[] finalTokens = stateTokens.get(deepest);
            if (plan.request.selection().dropsFirstToken()) {
                finalTokens = Arrays.copyOfRange(finalTokens, 1, finalTokens.length);
            }
            featureTokens = finalTokens;
            int t = finalTokens.length;
            features = own(batch, t, hidden * plan.selected.length);
            List<Tensor> parts = new ArrayList<>();
            List<Tensor> temporaries = new ArrayList<>();
            try {
                for (int index : plan.selected) {
                    int[] rows = rowsOf(stateTokens.get(index), finalTokens);
                    Tensor state = states.get(index);
                    if (isRange(rows)) {
                        parts.add(state.slice(1, rows.length == 0 ? 0 : rows[0], rows.length == 0 ? 0 : rows[0] + t));
                    } else {
                        Tensor gathered = backend.allocate(DType.F32, 1, t, hidden);
                        temporaries.add(gathered);
                        backend.gatherRows(state.select(0, 0), rows, gathered.select(0, 0));
                        parts.add(gathered);
                    }
                }
                backend.concat(2, parts, features);
            } finally {
                temporaries.forEach(Tensor::close);
            }
        }

        /** The features of every image, [batch, T, F], or null; a tensor of {@link #outputs}. */
        Tensor features() {
            return features;
        }

        /**
         * One {@link EncodedImage} per image, its tensors views of {@code relocate} applied to the
         * pass's output tensors (identity, or their copies after a replay), its token indices copies
         * (a replayed pass hands out the same ones every time).
         */
        List<EncodedImage> images(UnaryOperator<Tensor> relocate) {
            List<EncodedImage> out = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                SortedMap<Integer, Tensor> hs = new TreeMap<>();
                SortedMap<Integer, int[]> hsTokens = new TreeMap<>();
                if (plan.request.keepHiddenStates()) {
                    for (Map.Entry<Integer, Tensor> e : states.entrySet()) {
                        hs.put(e.getKey(), relocate.apply(e.getValue()).select(0, b));
                        hsTokens.put(e.getKey(), stateTokens.get(e.getKey()).clone());
                    }
                }
                SortedMap<Integer, LayerTaps> layerTaps = new TreeMap<>();
                for (Map.Entry<Integer, TapBuffers> e : taps.entrySet()) {
                    layerTaps.put(e.getKey(), e.getValue().forImage(e.getKey(), b, tapTokens.get(e.getKey()).clone(), relocate));
                }
                out.add(new EncodedImage(row(relocate, features, b), featureTokens == null ? null : featureTokens.clone(),
                        Collections.unmodifiableSortedMap(hs), Collections.unmodifiableSortedMap(hsTokens),
                        row(relocate, lastHidden, b), row(relocate, pooled, b),
                        Collections.unmodifiableSortedMap(layerTaps), row(relocate, probe, b)));
            }
            return out;
        }
    }

    /** Image b of an output tensor (after {@code relocate}), or null. */
    private static Tensor row(UnaryOperator<Tensor> relocate, Tensor t, int b) {
        return t == null ? null : relocate.apply(t).select(0, b);
    }

    /** Position in {@code tokens} of each of {@code wanted} (all present: pruning only removes). */
    private static int[] rowsOf(int[] tokens, int[] wanted) {
        Map<Integer, Integer> rowOf = new HashMap<>();
        for (int i = 0; i < tokens.length; i++) {
            rowOf.put(tokens[i], i);
        }
        return Arrays.stream(wanted).map(rowOf::get).toArray();
    }

    private static boolean isRange(int[] rows) {
        for (int i = 1; i < rows.length; i++) {
            if (rows[i] != rows[i - 1] + 1) {
                return false;
            }
        }
        return true;
    }
}
