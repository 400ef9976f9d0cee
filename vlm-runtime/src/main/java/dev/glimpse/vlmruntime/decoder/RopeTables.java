package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.Backend;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.RopeParameters;
import dev.glimpse.kernels.RotaryEmbedding;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.vlmruntime.config.RopeConfig;
import dev.glimpse.vlmruntime.config.TextConfig;

import java.util.Map;

/**
 * The cos/sin tables {@link Backend#rope} takes, for any token positions, computed by
 * {@link RotaryEmbedding} (HF {@code LlamaRotaryEmbedding.forward} semantics).
 *
 * <p>For rope types whose frequencies do not depend on the sequence length (default, linear,
 * llama3, yarn) the rows for positions {@code [0, precomputed)} are computed once and gathered
 * afterwards, so a decode step computes no trigonometry and allocates no buffer. "dynamic" (NTK) and
 * "longrope" depend on the longest position of the forward pass, as HF's {@code dynamic_rope_update};
 * they are recomputed for every call. The precomputed rows live where the backend computes
 * (uploaded once on a GPU); rows computed per call are made on the host and, on a GPU, copied to the
 * outputs (the one host-to-device crossing of a forward pass, for those rope types or for positions
 * past the precomputed rows). Immutable; shared by the sessions of one decoder.
 */
public final class RopeTables implements AutoCloseable {

    private final RotaryEmbedding rotary;
    private final Tensor cos;
    private final Tensor sin;
    private final int precomputed;

    RopeTables(Backend backend, RopeParameters parameters, int precomputed) {
        this.rotary = new RotaryEmbedding(parameters);
        boolean lengthDependent = parameters.type().equals("dynamic") || parameters.type().equals("longrope");
        this.precomputed = lengthDependent ? 0 : precomputed;
        int half = rotary.rotaryDim() / 2;
        int[] positions = new int[this.precomputed];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i;
        }
        Tensor hostCos = Tensor.allocate(DType.F32, this.precomputed, half);
        Tensor hostSin = Tensor.allocate(DType.F32, this.precomputed, half);
        rotary.tables(positions, hostCos, hostSin);
        if (backend.device().isHost()) {
            this.cos = hostCos;
            this.sin = hostSin;
        } else {
            try {
                this.cos = backend.upload(hostCos);
                this.sin = backend.upload(hostSin);
            } finally {
                hostCos.close();
                hostSin.close();
            }
        }
    }

    /** The rope settings of {@code config} in the form {@link RotaryEmbedding} takes. */
    public static RopeParameters parameters(TextConfig config) {
        RopeConfig rope = config.rope();
        Map<String, Double> p = rope.parameters();
        Double original = p.get("original_max_position_embeddings");
        return new RopeParameters(rope.type(), rope.theta(), config.headDim(),
                p.getOrDefault("partial_rotary_factor", 1.0), config.maxPositionEmbeddings(), p.get("factor"),
                original == null ? null : original.intValue(), p.get("low_freq_factor"), p.get("high_freq_factor"),
                p.get("attention_factor"), p.get("beta_fast"), p.get("beta_slow"), p.get("mscale"),
                p.get("mscale_all_dim"), p.containsKey("truncate") ? p.get("truncate") != 0 : null, null, null);
    }

    /** R: the rotating dims of each head; tables have R/2 columns. */
    public int rotaryDim() {
        return rotary.rotaryDim();
    }

    /** Fills {@code cosOut}, {@code sinOut} [positions.length, R/2] (F32, contiguous, on the backend's device). */
    public void fill(Backend backend, int[] positions, Tensor cosOut, Tensor sinOut) {
        if (covered(positions)) {
            backend.gatherRows(cos, positions, cosOut);
            backend.gatherRows(sin, positions, sinOut);
        } else if (cosOut.device().isHost()) {
            rotary.tables(positions, cosOut, sinOut);
        } else {
            try (Tensor hostCos = Tensor.allocate(DType.F32, cosOut.shape());
                 Tensor hostSin = Tensor.allocate(DType.F32, sinOut.shape())) {
                rotary.tables(positions, hostCos, hostSin);
                backend.copy(hostCos, cosOut);
                backend.copy(hostSin, sinOut);
            }
        }
    }

    /** True when {@code position}'s rows are precomputed (so {@link #fill(CudaBackend, Tensor, Tensor, Tensor)} serves it). */
    boolean covers(int position) {
        return position >= 0 && position < precomputed;
    }

    /**
     * Fills {@code cosOut}, {@code sinOut} [1, R/2] on the GPU with the precomputed rows of the
     * position held in device memory ({@code position}, I32 [1]); it must be {@link #covers covered}.
     */
    void fill(CudaBackend backend, Tensor position, Tensor cosOut, Tensor sinOut) {
        backend.gatherRows(cos, position, cosOut);
        backend.gatherRows(sin, position, sinOut);
    }

    private boolean covered(int[] positions) {
        for (int p : positions) {
            if (p < 0 || p >= precomputed) {
                return false;
            }
        }
        return true;
    }

    @Override
    public void close() {
        cos.close();
        sin.close();
    }
}
