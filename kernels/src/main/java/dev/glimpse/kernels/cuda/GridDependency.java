package dev.glimpse.kernels.cuda;

import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Programmatic dependent launch (PDL, compute capability 9.0 and newer): a kernel launched with
 * {@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION} may start while the previous kernel
 * of the stream still runs, which hides the launch latency between the decode step's short
 * kernels. That is only correct for a kernel whose every thread waits for its predecessor
 * ({@code grid_dependency_wait()} in {@code grid_dependency.cuh}) before it touches global memory
 * that earlier work writes and before any return; {@link #WAITING_KERNELS} (the decode step) and
 * {@link #PREFILL_WAITING_KERNELS} name exactly those, and {@link Launch} sets the attribute for them
 * alone, so no call site can ask for it on another
 * kernel. Stream capture records the relaxed order as programmatic graph edges (CUDA 12.3+), so a
 * replayed decode step keeps it.
 *
 * <p>{@code -Dglimpse.cuda.pdl=false} launches every kernel in plain stream order (A/B runs, or a
 * fallback should a driver mishandle it); the property is read at every launch, so a captured
 * graph keeps the setting it was captured with. The default is on: the kernels are correct either
 * way, since their wait returns at once without the attribute.
 *
 * <p>The prefill and vision kernels that run between cuBLASLt GEMMs ({@link #PREFILL_WAITING_KERNELS}:
 * norms, RoPE + KV append, the 16-bit prefill attention and its K/V packing, activations, copies,
 * token scores and top-k) wait the same way, but get the attribute only under
 * {@code -Dglimpse.cuda.pdlPrefill=true} (default {@code false}, read at every launch, and only while
 * {@code glimpse.cuda.pdl} is on): an opt-in until the H200 has measured it. Both properties are
 * {@code glimpse.cuda.*} settings, which the prefill and tower graph keys hold
 * ({@link LaunchSettings}), so flipping one captures anew.
 */
final class GridDependency {

    /** The system property that turns PDL off ({@code false}) or on ({@code true}, the default). */
    static final String PROPERTY = "glimpse.cuda.pdl";

    /** The system property that gives {@link #PREFILL_WAITING_KERNELS} the attribute ({@code true}; default {@code false}). */
    static final String PREFILL_PROPERTY = "glimpse.cuda.pdlPrefill";

    /** The first compute capability (major) with PDL. */
    static final int MIN_MAJOR = 9;

    /**
     * Kernels whose every thread executes {@code grid_dependency_wait()} before its first global
     * memory access other than an L2 prefetch (of weights; of its split's KV chunk, located by the key
     * count, in decode_online16.cu's {@code _passes_early} kernels and decode_wide.cu's kernels) or a
     * copy of weights into shared memory (decode_fused.cu's {@code _staged} kernels: no launch writes
     * weights; {@link WeightStaging}), and before
     * any return (decode.cu, decode_online16.cu, decode_wide.cu, decode_fused.cu, gemv.cu).
     * {@code GridDependencyTest} checks each against the kernel sources.
     */
    static final Set<String> WAITING_KERNELS = Stream.concat(Stream.of(
            "kv_append_step", "kv_append_step_bf16", "kv_append_step_f16", "attention_decode_split", "attention_decode_split_vec4", "attention_decode_combine",
            "attention_decode_fused", "attention_decode_fused_vec4",
            "attention_decode_online_h1", "attention_decode_online_h2", "attention_decode_online_h4",
            "attention_decode_online_h8", "attention_decode_online_vec4_h1", "attention_decode_online_vec4_h2",
            "attention_decode_online_vec4_h4", "attention_decode_online_vec4_h8",
            "attention_decode_split_bf16", "attention_decode_split_bf16_vec8", "attention_decode_split_f16",
            "attention_decode_split_f16_vec8", "attention_decode_fused_bf16", "attention_decode_fused_bf16_vec8",
            "attention_decode_fused_f16", "attention_decode_fused_f16_vec8",
            "attention_decode_online_bf16_h1", "attention_decode_online_bf16_h2", "attention_decode_online_bf16_h4",
            "attention_decode_online_bf16_h8", "attention_decode_online_bf16_vec8_h1",
            "attention_decode_online_bf16_vec8_h2", "attention_decode_online_bf16_vec8_h4",
            "attention_decode_online_bf16_vec8_h8", "attention_decode_online_f16_h1", "attention_decode_online_f16_h2",
            "attention_decode_online_f16_h4", "attention_decode_online_f16_h8", "attention_decode_online_f16_vec8_h1",
            "attention_decode_online_f16_vec8_h2", "attention_decode_online_f16_vec8_h4",
            "attention_decode_online_f16_vec8_h8", "attention_decode_online_bf16_vec8_h8_passes",
            "attention_decode_online_f16_vec8_h8_passes", "attention_decode_online_bf16_vec8_h8_passes_early",
            "attention_decode_online_f16_vec8_h8_passes_early",
            "attention_decode_wide_d64_h1", "attention_decode_wide_d64_h2", "attention_decode_wide_d64_h4",
            "attention_decode_wide_d64_h8", "attention_decode_wide_d128_h1", "attention_decode_wide_d128_h2",
            "attention_decode_wide_d128_h4", "attention_decode_wide_d128_h8", "attention_decode_wide_bf16_d64_h1",
            "attention_decode_wide_bf16_d64_h2", "attention_decode_wide_bf16_d64_h4",
            "attention_decode_wide_bf16_d64_h8", "attention_decode_wide_bf16_d128_h1",
            "attention_decode_wide_bf16_d128_h2", "attention_decode_wide_bf16_d128_h4",
            "attention_decode_wide_bf16_d128_h8", "attention_decode_wide_f16_d64_h1",
            "attention_decode_wide_f16_d64_h2", "attention_decode_wide_f16_d64_h4",
            "attention_decode_wide_f16_d64_h8", "attention_decode_wide_f16_d128_h1",
            "attention_decode_wide_f16_d128_h2", "attention_decode_wide_f16_d128_h4",
            "attention_decode_wide_f16_d128_h8",
            "rms_norm_linear", "rms_norm_linear_1", "rms_norm_gated_mlp_in", "rms_norm_gated_mlp_in_1",
            "linear_add_residual", "linear_add_residual_1", "rms_norm_linear_staged", "rms_norm_linear_1_staged",
            "rms_norm_gated_mlp_in_staged", "rms_norm_gated_mlp_in_1_staged", "linear_add_residual_staged",
            "linear_add_residual_1_staged", "rope_append_kv", "rope_append_kv_bf16",
            "rope_append_kv_f16", "argmax_partial", "argmax_final",
            "gemv_half_weights", "gemv_half_multi4", "gemv_half_multi4_1"),
            wideRopeKernels()).collect(Collectors.toUnmodifiableSet());

    /**
     * Prefill and vision kernels whose first statement is {@code grid_dependency_wait()} or
     * {@code grid_dependency_enter()} (rows.cu, norm_rows.cu, elementwise.cu, copy.cu, attention_mma.cu, scores.cu,
     * topk.cu), launched with the attribute only under {@link #PREFILL_PROPERTY}. Disjoint from
     * {@link #WAITING_KERNELS}. {@code GridDependencyTest} checks each against the kernel sources with
     * their macros expanded.
     */
    static final Set<String> PREFILL_WAITING_KERNELS = Stream.of(
            Stream.of("softmax_rows", "layer_norm_rows", "rms_norm_rows", "layer_norm_rows_token_major", "rope_f32",
                    "rope_append_kv_rows", "rope_append_kv_rows_bf16", "rope_append_kv_rows_f16",
                    "rope_append_kv_rows_vec", "rope_append_kv_rows_vec_bf16", "rope_append_kv_rows_vec_f16",
                    "binary_broadcast", "activation_f32", "activation_f32_v4", "activation_bf16_v8",
                    "activation_f16_v8", "gated_activation_f32", "gated_activation_f32_v4",
                    "gated_activation_bf16_v4", "gated_activation_f16_v4", "gated_activation_bf16_v8",
                    "gated_activation_f16_v8",
                    "add_bias_rows", "convert_f32", "strided_copy", "strided_copy_vec4", "embedding_rows",
                    "attention_row_scores", "topk_rows"),
            Stream.of(1, 2, 4, 8).flatMap(vpt -> Stream.of("layer_norm_rows_v4_" + vpt, "rms_norm_rows_v4_" + vpt,
                    "layer_norm_rows_v4_" + vpt + "_token_major")),
            Stream.of(1, 2, 4, 8).flatMap(vpt -> Stream.of("layer_norm_rows_staged_" + vpt, "rms_norm_rows_staged_" + vpt,
                    "layer_norm_rows_staged_" + vpt + "_token_major")),
            attentionMmaKernels()).flatMap(s -> s).collect(Collectors.toUnmodifiableSet());

    private GridDependency() {
    }

    /** decode_wide.cu's fused RoPE + append + attention kernels, one per cache type, head dim and padded head count. */
    private static Stream<String> wideRopeKernels() {
        return Stream.of("", "_bf16", "_f16").flatMap(type -> Stream.of(64, 128).flatMap(d -> Stream.of(1, 2, 4, 8)
                .map(hp -> "attention_decode_wide_rope" + type + "_d" + d + "_h" + hp)));
    }

    /**
     * The kernels of attention_mma.cu, as its instantiation tables stamp them out: the K/V packs (one
     * tensor, or K and V in one launch) per type and padded dim; the packed kernels at every padded dim
     * and block shape, the images kernels at every one but w2s4b1 and w2s2b1 at D 64 and 128; the
     * in-place cache kernels at D 64 and 128 in every shape, and with 16-bit output (_o16) in every
     * shape but w4x2 at D 128; the resident images kernels (TowerAttentionResident).
     */
    private static Stream<String> attentionMmaKernels() {
        List<String> shapes = List.of("w4", "w8", "w2", "w2s2", "w4x2", "w2s2b1", "w2s4b1");
        return Stream.of("bf16", "f16").flatMap(t -> Stream.of(
                Stream.of(64, 80, 128).flatMap(d -> Stream.of("attention_mma_pack_" + t + "_d" + d,
                        "attention_mma_pack_kv_" + t + "_d" + d)),
                Stream.of(64, 80, 128).flatMap(d -> shapes.stream().map(shape ->
                        "attention_mma_packed_" + t + "_d" + d + "_" + shape)),
                Stream.of(64, 80, 128).flatMap(d -> shapes.stream()
                        .filter(shape -> !shape.equals("w2s4b1") && !(shape.equals("w2s2b1") && d != 80))
                        .map(shape -> "attention_mma_images_" + t + "_d" + d + "_" + shape)),
                Stream.of("d64_q5s2", "d80_q6s2")
                        .map(shape -> "attention_mma_images_resident_" + t + "_" + shape),
                Stream.of(64, 128).flatMap(d -> shapes.stream().map(shape -> "attention_mma_cache_" + t + "_d" + d + "_" + shape)),
                Stream.of(64, 128).flatMap(d -> shapes.stream()
                        .filter(shape -> !(d == 128 && shape.equals("w4x2")))
                        .map(shape -> "attention_mma_cache_" + t + "_d" + d + "_" + shape + "_o16")))
                .flatMap(s -> s));
    }

    /** True unless {@code -Dglimpse.cuda.pdl=false}; any other value than true or false is an error. */
    static boolean enabled() {
        String value = System.getProperty(PROPERTY, "true").trim().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true", "" -> true;
            case "false" -> false;
            default -> throw new CudaException("-D" + PROPERTY + "=" + value + " is not true or false");
        };
    }

    /** True when {@code -Dglimpse.cuda.pdlPrefill=true}; any other value than true or false is an error. */
    static boolean prefillEnabled() {
        String value = System.getProperty(PREFILL_PROPERTY, "false").trim().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "true" -> true;
            case "false", "" -> false;
            default -> throw new CudaException("-D" + PREFILL_PROPERTY + "=" + value + " is not true or false");
        };
    }

    /** True when {@code kernel} is a decode-step kernel that waits ({@link #WAITING_KERNELS}). */
    static boolean waits(String kernel) {
        return WAITING_KERNELS.contains(kernel);
    }

    /** True when {@code kernel} is a prefill or vision kernel that waits ({@link #PREFILL_WAITING_KERNELS}). */
    static boolean prefillWaits(String kernel) {
        return PREFILL_WAITING_KERNELS.contains(kernel);
    }

    /**
     * True when {@code kernel} is to be launched with the programmatic-serialization attribute under
     * the current properties: {@code glimpse.cuda.pdl} on, and a decode-step kernel, or a prefill or
     * vision kernel while {@code glimpse.cuda.pdlPrefill} is on.
     */
    static boolean programmatic(String kernel) {
        boolean listed = waits(kernel) || prefillWaits(kernel) && prefillEnabled();
        return listed && enabled();
    }
}
