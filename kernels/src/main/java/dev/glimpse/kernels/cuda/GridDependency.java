package dev.glimpse.kernels.cuda;

import java.util.Locale;
import java.util.Set;

/**
 * Programmatic dependent launch (PDL, compute capability 9.0 and newer): a kernel launched with
 * {@code CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION} may start while the previous kernel
 * of the stream still runs, which hides the launch latency between the decode step's short
 * kernels. That is only correct for a kernel whose every thread waits for its predecessor
 * ({@code grid_dependency_wait()} in {@code grid_dependency.cuh}) before it touches global memory
 * that earlier work writes and before any return; {@link #WAITING_KERNELS} names exactly those, and
 * {@link Launch} sets the attribute for them alone, so no call site can ask for it on another
 * kernel. Stream capture records the relaxed order as programmatic graph edges (CUDA 12.3+), so a
 * replayed decode step keeps it.
 *
 * <p>{@code -Dglimpse.cuda.pdl=false} launches every kernel in plain stream order (A/B runs, or a
 * fallback should a driver mishandle it); the property is read at every launch, so a captured
 * graph keeps the setting it was captured with. The default is on: the kernels are correct either
 * way, since their wait returns at once without the attribute.
 */
final class GridDependency {

    /** The system property that turns PDL off ({@code false}) or on ({@code true}, the default). */
    static final String PROPERTY = "glimpse.cuda.pdl";

    /** The first compute capability (major) with PDL. */
    static final int MIN_MAJOR = 9;

    /**
     * Kernels whose every thread executes {@code grid_dependency_wait()} before its first global
     * memory access other than an L2 prefetch (of weights; of its split's KV chunk, located by the key
     * count, in decode_online16.cu's {@code _passes_early} kernels and decode_wide.cu's kernels), and before
     * any return (decode.cu, decode_online16.cu, decode_wide.cu, decode_fused.cu, gemv.cu).
     * {@code GridDependencyTest} checks each against the kernel sources.
     */
    static final Set<String> WAITING_KERNELS = Set.of(
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
            "linear_add_residual", "linear_add_residual_1", "rope_append_kv", "rope_append_kv_bf16",
            "rope_append_kv_f16", "argmax_partial", "argmax_final",
            "gemv_half_weights", "gemv_half_multi4", "gemv_half_multi4_1");

    private GridDependency() {
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

    /** True when {@code kernel} may be launched with the programmatic-serialization attribute. */
    static boolean waits(String kernel) {
        return WAITING_KERNELS.contains(kernel);
    }
}
