package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.Mlp16Vector;
import dev.glimpse.kernels.cuda.NormRowsVariant;
import dev.glimpse.kernels.cuda.TowerAttentionResident;
import dev.glimpse.kernels.cuda.WeightStaging;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.llava.LlavaModel;

import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The system properties an in-process A/B ({@link InProcessAb}) may flip between requests of one
 * loaded model. A property qualifies when the code reads it at every call (or launch, or session)
 * and every CUDA graph that could otherwise replay work queued under another value is keyed by it:
 * the vision tower's graphs ({@code TowerGraphKey}) and the decoder's prefill graphs
 * ({@code PrefillGraphKey}) hold every {@code glimpse.cuda.*} property but their own switch
 * ({@code LaunchSettings}), and the decode step's graph lives and dies with its session. Properties
 * read once (at class load, model load, backend creation) or that feed a cache keyed without them
 * (cuBLASLt plans, made once per problem shape, keep the algorithm the first variant's
 * {@code ltTune} chose) are refused with the reason; the one-JVM-per-variant A/B
 * ({@code LLAVA_BENCH_AB}) measures those. Anything not listed is refused too: a property joins the
 * list after its reads have been checked.
 */
final class InProcessProperties {

    /** Verified: read at every call, launch or session, and {@code glimpse.cuda.*} (in the graph keys) or a graph switch. */
    static final Set<String> ALLOWED = Set.of(
            CudaBackend.TOWER_LEAN_PROPERTY,
            CudaBackend.TOWER_MLP16_PROPERTY,
            CudaBackend.MLP16_PROPERTY,
            Mlp16Vector.PROPERTY,
            CudaBackend.VTC_FUSED_PROPERTY,
            CudaBackend.PDL_PROPERTY,
            CudaBackend.PDL_PREFILL_PROPERTY,
            CudaBackend.PREFILL_ROPE_ATTENTION_PROPERTY,
            CudaBackend.PREFILL_ROPE_ATTENTION_MAX_ROWS_PROPERTY,
            CudaBackend.PREFILL_FUSION_PROPERTY,
            CudaBackend.ROPE_APPEND_VECTOR_PROPERTY,
            CudaBackend.ATTENTION_HALF_OUTPUT_PROPERTY,
            CudaBackend.GEMM_EPILOGUES_PROPERTY,
            CudaBackend.DECODE_ROPE_ATTENTION_PROPERTY,
            WeightStaging.PROPERTY,
            CudaBackend.PINNED_STAGING_PROPERTY,
            LlavaModel.DEVICE_PIXELS_PROPERTY,
            NormRowsVariant.PROPERTY,
            "glimpse.cuda.ltResidual",
            "glimpse.cuda.attentionCacheInPlace",
            "glimpse.cuda.attentionMma",
            AttentionSmallGrid.PROPERTY,
            AttentionSmallGrid.ROPE_ATTENTION_PROPERTY,
            TowerAttentionResident.PROPERTY,
            CudaLlavaBench.VISION_GRAPHS_PROPERTY,
            DecoderSession.PREFILL_GRAPHS_PROPERTY,
            DecoderSession.GRAPHS_PROPERTY,
            DecoderSession.DECODE_AHEAD_PROPERTY,
            DecoderSession.PREFILL_PAD_ROWS_PROPERTY,
            DecoderSession.CAPACITY_BUCKET_PROPERTY);

    /**
     * The session-shape switches among {@link #ALLOWED}: read at every session, they pick the shape of
     * the pooled session buffers, which hold the prefill graphs, so no graph serves two values; variants
     * that differ in them drop the pooled set at every switch ({@link ServeMixBench} switches once per
     * request mix, {@code CudaLlavaBench --ab} at every request, where both variants then pay allocation).
     */
    static final Set<String> SESSION_SHAPE_SWITCHES = Set.of(DecoderSession.CAPACITY_BUCKET_PROPERTY);

    /** The graph switches among {@link #ALLOWED}: read at every call, they decide whether a graph is used, not what it holds. */
    static final Set<String> GRAPH_SWITCHES = Set.of(CudaLlavaBench.VISION_GRAPHS_PROPERTY,
            DecoderSession.PREFILL_GRAPHS_PROPERTY, DecoderSession.GRAPHS_PROPERTY);

    /** Known properties that cannot change inside one process, and why. */
    static final Map<String, String> REFUSED = Map.of(
            "glimpse.cuda.halfGemmInputs", "read once, when CudaBackend's class loads",
            "glimpse.cuda.ltMatmul", "read once, when CudaGemm's class loads",
            "glimpse.cuda.ltTune", "read when a cuBLASLt plan is made; plans are cached per problem shape, so the"
                    + " first variant's algorithm would serve every variant",
            "glimpse.cuda.ltSearch", "read when a cuBLASLt plan is made (cached per problem shape)",
            "glimpse.cuda.ltTiming", "read when a cuBLASLt plan is made (cached per problem shape)",
            "glimpse.cuda.ltTuneCache", "read when the backend opens its algorithm store",
            "glimpse.cuda.fusedProjections", "read when the decoder's weights load",
            "glimpse.cuda.memory", "read when the CUDA backend is created",
            "glimpse.cuda.visionLayout", "the tower's q/k/v concatenation follows it when the weights are placed",
            "glimpse.kvCache", "picks the session buffers' shape; measure it in one JVM per variant");

    private InProcessProperties() {
    }

    /**
     * Checks that {@code name} may be flipped inside one process.
     *
     * @throws IllegalArgumentException naming the property, why it cannot, and what to use instead
     */
    static void check(String name) {
        if (ALLOWED.contains(name)) {
            return;
        }
        String reason = REFUSED.entrySet().stream()
                .filter(e -> name.equals(e.getKey()) || name.startsWith(e.getKey() + "."))
                .map(Map.Entry::getValue)
                .findFirst()
                .orElse("its reads have not been checked for an in-process A/B");
        throw new IllegalArgumentException("--ab cannot flip " + name + " inside one JVM: " + reason
                + ". Run it as LLAVA_BENCH_AB=\"label=-D" + name + "=...\" (one JVM per variant); --ab takes "
                + new TreeSet<>(ALLOWED));
    }
}
