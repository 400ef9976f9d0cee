package dev.glimpse.kernels.cpu;

/** Which GEMM implementation a product runs on. */
public enum GemmPath {
    /** The measured-faster implementation for the product's shape and weight dtype. */
    AUTO,
    /** Vector API kernels ({@code VectorGemm}). */
    VECTOR,
    /** OpenBLAS {@code cblas_sgemm} ({@code BlasGemm}); the Vector API where it cannot load. */
    BLAS
}
