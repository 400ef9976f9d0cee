package dev.glimpse.kernels.cuda;

import org.bytedeco.cuda.cublas.cublasLtContext;
import org.bytedeco.cuda.cublas.cublasLtMatmulAlgo_t;
import org.bytedeco.cuda.global.cublas;
import org.bytedeco.cuda.global.cudart;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.javacpp.ShortPointer;
import org.bytedeco.javacpp.SizeTPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A cuBLASLt algorithm as its documented configuration attributes: the algorithm id
 * ({@code cublasLtMatmulAlgoInit}) and every {@code CUBLASLT_ALGO_CONFIG_*} value, which together
 * rebuild the algorithm in another process ({@link LtChoiceStore}), plus the opaque struct's eight
 * words as measured. The values are cuBLASLt's enums as numbers (tile, stages, inner shape and
 * cluster shape ids, reduction scheme), only meaningful to the cuBLASLt version that wrote them.
 * {@link #build} rebuilds from the attributes and, should the result differ from the measured
 * words (state the attributes do not expose), runs the measured words themselves (cuBLASLt
 * documents the struct as serialisable for the same library version) provided they read back as
 * the same attributes; either way the caller validates the algorithm with
 * {@code cublasLtMatmulAlgoCheck} before it runs.
 *
 * @param algoId          {@code CUBLASLT_ALGO_CONFIG_ID} (int32)
 * @param tile            {@code TILE_ID} (uint32)
 * @param stages          {@code STAGES_ID} (uint32)
 * @param splitK          {@code SPLITK_NUM} (uint32)
 * @param reductionScheme {@code REDUCTION_SCHEME} (uint32)
 * @param ctaSwizzling    {@code CTA_SWIZZLING} (uint32)
 * @param customOption    {@code CUSTOM_OPTION} (uint32)
 * @param innerShape      {@code INNER_SHAPE_ID} (uint16, 0..65535)
 * @param clusterShape    {@code CLUSTER_SHAPE_ID} (uint16, 0..65535)
 * @param words           the {@code cublasLtMatmulAlgo_t} struct as measured ({@value #WORDS} uint64)
 */
record LtAlgoConfig(int algoId, int tile, int stages, int splitK, int reductionScheme, int ctaSwizzling,
                    int customOption, int innerShape, int clusterShape, List<Long> words) {

    private static final Logger LOG = LoggerFactory.getLogger(LtAlgoConfig.class);

    /** Largest value of the uint16 attributes. */
    static final int MAX_UINT16 = 0xFFFF;

    /** 64-bit words of {@code cublasLtMatmulAlgo_t}. */
    static final int WORDS = 8;

    LtAlgoConfig {
        if (innerShape < 0 || innerShape > MAX_UINT16 || clusterShape < 0 || clusterShape > MAX_UINT16) {
            throw new IllegalArgumentException("inner and cluster shape ids are uint16, got " + innerShape + " and "
                    + clusterShape);
        }
        words = List.copyOf(words);
        if (words.size() != WORDS) {
            throw new IllegalArgumentException("an algorithm is " + WORDS + " words, got " + words.size());
        }
    }

    /** The configuration of {@code algo}; empty where cuBLASLt refuses to report one of its attributes. */
    static Optional<LtAlgoConfig> of(cublasLtMatmulAlgo_t algo) {
        try (IntPointer word = new IntPointer(1); ShortPointer half = new ShortPointer(1);
             SizeTPointer written = new SizeTPointer(1)) {
            int[] v = new int[9];
            int[] attributes = {cublas.CUBLASLT_ALGO_CONFIG_ID, cublas.CUBLASLT_ALGO_CONFIG_TILE_ID,
                    cublas.CUBLASLT_ALGO_CONFIG_STAGES_ID, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                    cublas.CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, cublas.CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING,
                    cublas.CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION};
            for (int i = 0; i < attributes.length; i++) {
                word.put(0);
                if (cublas.cublasLtMatmulAlgoConfigGetAttribute(algo, attributes[i], word, Integer.BYTES, written)
                        != cublas.CUBLAS_STATUS_SUCCESS) {
                    return Optional.empty();
                }
                v[i] = word.get();
            }
            int[] shortAttributes = {cublas.CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, cublas.CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID};
            for (int i = 0; i < shortAttributes.length; i++) {
                half.put((short) 0);
                if (cublas.cublasLtMatmulAlgoConfigGetAttribute(algo, shortAttributes[i], half, Short.BYTES, written)
                        != cublas.CUBLAS_STATUS_SUCCESS) {
                    return Optional.empty();
                }
                v[attributes.length + i] = half.get() & MAX_UINT16;
            }
            List<Long> data = new ArrayList<>(WORDS);
            for (int i = 0; i < WORDS; i++) {
                data.add(algo.data(i));
            }
            return Optional.of(new LtAlgoConfig(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], data));
        }
    }

    /**
     * A new algorithm for products of these operand types (F32 compute and scale) rebuilt from this
     * configuration (the measured words where the rebuilt struct differs from them); empty, with
     * nothing left allocated, where cuBLASLt refuses the id or a value (another cuBLASLt build,
     * another GPU). The caller closes it and still has to check it against its problem.
     */
    Optional<cublasLtMatmulAlgo_t> build(cublasLtContext handle, int aType, int bType, int cType, int dType) {
        cublasLtMatmulAlgo_t algo = new cublasLtMatmulAlgo_t();
        boolean built = false;
        try (IntPointer word = new IntPointer(1); ShortPointer half = new ShortPointer(1)) {
            built = cublas.cublasLtMatmulAlgoInit(handle, cublas.CUBLAS_COMPUTE_32F, cudart.CUDA_R_32F, aType, bType,
                    cType, dType, algoId, algo) == cublas.CUBLAS_STATUS_SUCCESS
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_TILE_ID, word.put(tile), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_STAGES_ID, word.put(stages), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_SPLITK_NUM, word.put(splitK), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, word.put(reductionScheme), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CTA_SWIZZLING, word.put(ctaSwizzling), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CUSTOM_OPTION, word.put(customOption), Integer.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_INNER_SHAPE_ID, half.put((short) innerShape), Short.BYTES)
                    && set(algo, cublas.CUBLASLT_ALGO_CONFIG_CLUSTER_SHAPE_ID, half.put((short) clusterShape), Short.BYTES);
            if (!built) {
                return Optional.empty();
            }
            if (!matchesWords(algo)) {
                for (int i = 0; i < WORDS; i++) {
                    algo.data(i, words.get(i));
                }
                if (!of(algo).map(this::sameAttributes).orElse(false)) {
                    LOG.debug("cuBLASLt {}: the stored words describe another algorithm; not used", label());
                    built = false;
                    return Optional.empty();
                }
                LOG.debug("cuBLASLt {}: the attributes rebuild another struct; the measured words are run", label());
            }
            return Optional.of(algo);
        } finally {
            if (!built) {
                algo.close();
            }
        }
    }

    /** Whether {@code other} has this configuration's attributes (its words aside). */
    boolean sameAttributes(LtAlgoConfig other) {
        return algoId == other.algoId && tile == other.tile && stages == other.stages && splitK == other.splitK
                && reductionScheme == other.reductionScheme && ctaSwizzling == other.ctaSwizzling
                && customOption == other.customOption && innerShape == other.innerShape && clusterShape == other.clusterShape;
    }

    private boolean matchesWords(cublasLtMatmulAlgo_t algo) {
        for (int i = 0; i < WORDS; i++) {
            if (algo.data(i) != words.get(i)) {
                return false;
            }
        }
        return true;
    }

    private static boolean set(cublasLtMatmulAlgo_t algo, int attribute, Pointer value, int bytes) {
        return cublas.cublasLtMatmulAlgoConfigSetAttribute(algo, attribute, value, bytes) == cublas.CUBLAS_STATUS_SUCCESS;
    }

    /** The short form for logs, e.g. {@code algo 66 tile 20 stages 8 split-K 1}. */
    String label() {
        return "algo " + algoId + " tile " + tile + " stages " + stages + " split-K " + splitK
                + (splitK > 1 ? " reduction " + reductionScheme : "") + " swizzle " + ctaSwizzling + " custom " + customOption
                + " inner " + innerShape + " cluster " + clusterShape;
    }
}
