package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.GemmInputs;
import dev.glimpse.kernels.ResidentWeights;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.io.Checkpoint;
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
 */
public final class VisionTransformer {

    private static final Logger LOG = LoggerFactory.getLogger(VisionTransformer.class);

    private final Backend backend;
    private final VisionConfig config;
    private final VisionWeights weights;
    private final VisionEmbeddings embeddings;
    private final List<EncoderBlock> blocks;
    private final AttentionPoolingHead head;

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
        Plan plan = plan(request);
        int batch = pixelValues.dim(0);
        boolean perImage = request.pruning() != null;
        int runBatch = perImage ? 1 : batch;
        long start = System.nanoTime();
        List<Tensor> owned = new ArrayList<>();
        List<EncodedImage> images = new ArrayList<>(batch);
        Tensor stacked = null;
        try (ForwardScratch scratch = new ForwardScratch(backend, runBatch, embeddings.tokens(), config.hiddenSize(),
                config.intermediateSize(), config.numPatches(),
                config.numChannels() * config.patchSize() * config.patchSize(),
                gemmInputType(runBatch * embeddings.tokens(), plan.blocksToRun))) {
            for (int first = 0; first < batch; first += runBatch) {
                Run run = new Run(plan, scratch, owned, runBatch);
                run.forward(pixelValues.slice(0, first, first + runBatch));
                images.addAll(run.images());
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

    /** What a request needs: hidden-state indices, taps, and how many blocks to run. */
    private record Plan(VisionRequest request, int[] selected, VisionTaps taps, int blocksToRun) {
    }

    private Plan plan(VisionRequest request) {
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
        return new Plan(request, selected, taps, blocks);
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
    private final class Run {
        private final Plan plan;
        private final ForwardScratch scratch;
        private final List<Tensor> owned;
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

        Run(Plan plan, ForwardScratch scratch, List<Tensor> owned, int batch) {
            this.plan = plan;
            this.scratch = scratch;
            this.owned = owned;
            this.batch = batch;
        }

        void forward(Tensor pixels) {
            try {
                embeddings.forward(pixels, scratch, residual());
                recordState(0);
                for (int l = 0; l < plan.blocksToRun; l++) {
                    TapBuffers tb = null;
                    if (plan.taps.tapsLayer(l)) {
                        tb = new TapBuffers(backend, plan.taps, l, batch, config.numAttentionHeads(), tokens);
                        owned.addAll(tb.owned());
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
            Tensor t = backend.allocate(DType.F32, shape);
            owned.add(t);
            return t;
        }

        private void recordState(int index) {
            if (!states.containsKey(index) && Arrays.stream(plan.selected).anyMatch(s -> s == index)) {
                Tensor copy = backend.allocate(DType.F32, batch, tokens, hidden);
                if (plan.request.keepHiddenStates()) {
                    owned.add(copy);
                }
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
                head.forward(normed, scratch, pooledOut, probe);
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

        List<EncodedImage> images() {
            List<EncodedImage> out = new ArrayList<>(batch);
            for (int b = 0; b < batch; b++) {
                SortedMap<Integer, Tensor> hs = new TreeMap<>();
                SortedMap<Integer, int[]> hsTokens = new TreeMap<>();
                if (plan.request.keepHiddenStates()) {
                    for (Map.Entry<Integer, Tensor> e : states.entrySet()) {
                        hs.put(e.getKey(), e.getValue().select(0, b));
                        hsTokens.put(e.getKey(), stateTokens.get(e.getKey()));
                    }
                }
                SortedMap<Integer, LayerTaps> layerTaps = new TreeMap<>();
                for (Map.Entry<Integer, TapBuffers> e : taps.entrySet()) {
                    layerTaps.put(e.getKey(), e.getValue().forImage(e.getKey(), b, tapTokens.get(e.getKey())));
                }
                out.add(new EncodedImage(features == null ? null : features.select(0, b), featureTokens,
                        Collections.unmodifiableSortedMap(hs), Collections.unmodifiableSortedMap(hsTokens),
                        lastHidden == null ? null : lastHidden.select(0, b), pooled == null ? null : pooled.select(0, b),
                        Collections.unmodifiableSortedMap(layerTaps), probe == null ? null : probe.select(0, b)));
            }
            return out;
        }
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
