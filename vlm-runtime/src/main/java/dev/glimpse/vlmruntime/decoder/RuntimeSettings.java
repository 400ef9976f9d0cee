package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.kernels.BooleanProperty;
import dev.glimpse.kernels.cuda.AttentionSmallGrid;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.Mlp16Vector;
import dev.glimpse.kernels.cuda.NormRowsVariant;
import dev.glimpse.kernels.cuda.TowerAttentionResident;
import dev.glimpse.visionencoder.VisionSwitches;

/**
 * Checks, at model load, every runtime setting that is read later at each session, prefill or kernel launch:
 * {@value CudaBackend#HALF_GEMM_INPUTS_PROPERTY} and {@value CudaBackend#LT_MATMUL_PROPERTY} (read once per JVM, when
 * the CUDA backend's classes load: checked first, before anything here loads them),
 * {@value CapacityBuckets#PROPERTY}, {@value PrefillPadding#PROPERTY}, {@value DecoderSession#GRAPHS_PROPERTY},
 * {@value DecoderSession#DECODE_AHEAD_PROPERTY}, {@value DecoderSession#POOL_DECODE_AHEAD_PROPERTY},
 * {@value CudaBackend#MLP16_PROPERTY}, {@value CudaBackend#TOWER_LEAN_PROPERTY}, {@value CudaBackend#TOWER_MLP16_PROPERTY},
 * {@value Mlp16Vector#PROPERTY}, {@value NormRowsVariant#PROPERTY},
 * {@value AttentionSmallGrid#PROPERTY}, {@value AttentionSmallGrid#ROPE_ATTENTION_PROPERTY},
 * {@value TowerAttentionResident#PROPERTY}, the CUDA backend's other on/off switches ({@link CudaBackend#checkSwitches}),
 * the vision encoder's ({@link VisionSwitches#check}), {@value DecoderWeights#FUSED_PROJECTIONS_PROPERTY} and
 * {@value SessionBufferPool#PROPERTY}. Each is parsed by
 * the same method that reads it later, so a bad {@code -D} value fails the load, before any weights are read,
 * with that parser's message (the property, the value, the values it takes), instead of failing every request
 * of a server (blamed on the client) or a kernel launch deep inside a prefill. Blank counts as unset for all.
 */
public final class RuntimeSettings {

    private RuntimeSettings() {
    }

    /**
     * Parses each setting as it is now.
     *
     * @throws IllegalArgumentException or {@link dev.glimpse.kernels.cuda.CudaException} from the first bad setting's
     *                                  own parser, naming the property, the bad value and the accepted ones
     */
    public static void validate() {
        BooleanProperty.read(CudaBackend.HALF_GEMM_INPUTS_PROPERTY, true);
        BooleanProperty.read(CudaBackend.LT_MATMUL_PROPERTY, true);
        CapacityBuckets.step();
        PrefillPadding.quantum();
        DecoderSession.decodeGraphs();
        DecoderSession.decodeAhead();
        DecoderSession.poolDecodeAhead();
        CudaBackend.mlp16Enabled();
        CudaBackend.towerLeanEnabled();
        CudaBackend.towerMlp16Enabled();
        Mlp16Vector.configured();
        NormRowsVariant.configured();
        AttentionSmallGrid.configured();
        AttentionSmallGrid.configuredForRopeAttention();
        TowerAttentionResident.configured();
        CudaBackend.checkSwitches();
        VisionSwitches.check();
        DecoderWeights.fusedProjectionsEnabled();
        SessionBufferPool.enabled();
    }
}
