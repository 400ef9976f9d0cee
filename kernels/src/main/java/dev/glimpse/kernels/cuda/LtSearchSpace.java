package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.global.cublas;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The cuBLASLt configurations the wide search ({@link LtWideSearch}) offers, built from each
 * algorithm id's capabilities ({@code CUBLASLT_ALGO_CAP_*}) alone, so the order and the bounds can
 * be tested without a GPU; {@code cublasLtMatmulAlgoCheck} later says which a problem accepts.
 *
 * <p>Two kinds: {@link #coarse} points span tile x stages x split-K ({@link #SPLIT_K}: 1, 2, 3, 4, 6, 8) of
 * every algorithm at the default swizzle, custom option and cluster shape, interleaved across the
 * algorithms so that a cap on the count leaves none out; {@link #refinements} of a fast point vary
 * what the coarse points keep at their defaults: the reduction scheme, CTA swizzling, the custom
 * option (up to {@value #MAX_CUSTOM_OPTION}) and the cluster shape (sm_90; {@link #CLUSTER_SHAPES}).
 * Split-K partial sums are reduced out of place only (in the compute type, or in the output type):
 * the in-place scheme accumulates into the output with atomics, which the residual and graph-replay
 * paths do not expect.
 */
final class LtSearchSpace {

    /** The split-K factors every coarse point is offered at (1: no split). */
    static final List<Integer> SPLIT_K = List.of(1, 2, 3, 4, 6, 8);

    /** Largest custom option a refinement tries (algorithms may offer more; they are rarely distinct kernels). */
    static final int MAX_CUSTOM_OPTION = 3;

    /**
     * Cluster shapes a refinement tries: automatic, none, and pairs or fours along either output
     * dimension (beyond that a skinny product has too few tiles to fill a cluster).
     */
    static final List<Integer> CLUSTER_SHAPES = List.of(cublas.CUBLASLT_CLUSTER_SHAPE_AUTO,
            cublas.CUBLASLT_CLUSTER_SHAPE_1x1x1, cublas.CUBLASLT_CLUSTER_SHAPE_2x1x1, cublas.CUBLASLT_CLUSTER_SHAPE_1x2x1,
            cublas.CUBLASLT_CLUSTER_SHAPE_4x1x1);

    private LtSearchSpace() {
    }

    /**
     * What one algorithm id supports ({@code cublasLtMatmulAlgoCapGetAttribute}); an algorithm
     * without tiles or stages reports none, which stands for the one undefined id (0).
     *
     * @param tiles           {@code TILE_IDS}
     * @param stages          {@code STAGES_IDS}
     * @param splitK          {@code SPLITK_SUPPORT} non-zero (int32: 0 none, anything else supported)
     * @param reductionMask   {@code REDUCTION_SCHEME_MASK}
     * @param swizzling       {@code CTA_SWIZZLING_SUPPORT}
     * @param customOptionMax {@code CUSTOM_OPTION_MAX}
     */
    record Caps(int algoId, List<Integer> tiles, List<Integer> stages, boolean splitK, int reductionMask,
                boolean swizzling, int customOptionMax) {

        Caps {
            tiles = tiles.isEmpty() ? List.of(cublas.CUBLASLT_MATMUL_TILE_UNDEFINED) : List.copyOf(tiles);
            stages = stages.isEmpty() ? List.of(cublas.CUBLASLT_MATMUL_STAGES_UNDEFINED) : List.copyOf(stages);
            customOptionMax = Math.max(0, customOptionMax);
        }
    }

    /** One configuration: the {@code CUBLASLT_ALGO_CONFIG_*} values set on a fresh {@code cublasLtMatmulAlgoInit}. */
    record Point(int algoId, int tile, int stages, int splitK, int reduction, int swizzle, int custom, int cluster) {

        /** The point {@code config} describes (its inner shape and words aside). */
        static Point of(LtAlgoConfig config) {
            return new Point(config.algoId(), config.tile(), config.stages(), config.splitK(),
                    config.splitK() > 1 ? config.reductionScheme() : cublas.CUBLASLT_REDUCTION_SCHEME_NONE,
                    config.ctaSwizzling(), config.customOption(), config.clusterShape());
        }

        /** How many of reduction, swizzle, custom option and cluster shape differ from {@code other}'s. */
        int variedFrom(Point other) {
            return (reduction != other.reduction ? 1 : 0) + (swizzle != other.swizzle ? 1 : 0)
                    + (custom != other.custom ? 1 : 0) + (cluster != other.cluster ? 1 : 0);
        }

        /** The short form for logs, e.g. {@code algo 66 tile 20 stages 8 split-K 4 reduction 2 swizzle 0 custom 0 cluster 0}. */
        String label() {
            return "algo " + algoId + " tile " + tile + " stages " + stages + " split-K " + splitK
                    + (splitK > 1 ? " reduction " + reduction : "") + " swizzle " + swizzle + " custom " + custom
                    + " cluster " + cluster;
        }
    }

    /** The out-of-place reduction scheme of {@code mask}: the compute type's, else the output type's, else 0 (none). */
    static int outOfPlaceScheme(int mask) {
        if ((mask & cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE) != 0) {
            return cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE;
        }
        return (mask & cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE) != 0 ? cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE : 0;
    }

    /**
     * Every algorithm's tile x stages x split-K points (split-K beyond 1 only where the algorithm
     * supports it with an out-of-place scheme), swizzle, custom option and cluster shape at 0;
     * per algorithm tile-major, split-K innermost; the algorithms interleaved (the first point of
     * each, then the second of each, ...).
     */
    static List<Point> coarse(List<Caps> algorithms) {
        List<List<Point>> perAlgorithm = new ArrayList<>();
        for (Caps c : algorithms) {
            List<Point> points = new ArrayList<>();
            int scheme = c.splitK() ? outOfPlaceScheme(c.reductionMask()) : 0;
            for (int tile : c.tiles()) {
                for (int stages : c.stages()) {
                    for (int split : SPLIT_K) {
                        if (split == 1) {
                            points.add(new Point(c.algoId(), tile, stages, 1, cublas.CUBLASLT_REDUCTION_SCHEME_NONE, 0, 0,
                                    cublas.CUBLASLT_CLUSTER_SHAPE_AUTO));
                        } else if (scheme != 0) {
                            points.add(new Point(c.algoId(), tile, stages, split, scheme, 0, 0, cublas.CUBLASLT_CLUSTER_SHAPE_AUTO));
                        }
                    }
                }
            }
            perAlgorithm.add(points);
        }
        List<Point> interleaved = new ArrayList<>();
        for (int i = 0; ; i++) {
            boolean any = false;
            for (List<Point> points : perAlgorithm) {
                if (i < points.size()) {
                    interleaved.add(points.get(i));
                    any = true;
                }
            }
            if (!any) {
                return interleaved;
            }
        }
    }

    /**
     * The variants of {@code p} (of the algorithm {@code c} describes) over the reduction schemes
     * (out of place, where p splits k), swizzling (where supported), custom options 0..
     * min(max, {@value #MAX_CUSTOM_OPTION}) and {@link #CLUSTER_SHAPES}, tile, stages and split-K
     * kept; p itself left out; those varying fewer attributes first.
     */
    static List<Point> refinements(Point p, Caps c) {
        List<Integer> reductions = new ArrayList<>();
        if (p.splitK() > 1) {
            for (int scheme : new int[] {cublas.CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE, cublas.CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE}) {
                if ((c.reductionMask() & scheme) != 0) {
                    reductions.add(scheme);
                }
            }
        }
        if (reductions.isEmpty()) {
            reductions.add(p.reduction());
        }
        List<Integer> swizzles = c.swizzling() ? List.of(0, 1) : List.of(p.swizzle());
        int customs = Math.min(c.customOptionMax(), MAX_CUSTOM_OPTION);
        List<Point> variants = new ArrayList<>();
        for (int reduction : reductions) {
            for (int swizzle : swizzles) {
                for (int custom = 0; custom <= customs; custom++) {
                    for (int cluster : CLUSTER_SHAPES) {
                        Point v = new Point(p.algoId(), p.tile(), p.stages(), p.splitK(), reduction, swizzle, custom, cluster);
                        if (!v.equals(p)) {
                            variants.add(v);
                        }
                    }
                }
            }
        }
        variants.sort(Comparator.comparingInt(v -> v.variedFrom(p))); // stable: generation order within a count
        return variants;
    }
}
