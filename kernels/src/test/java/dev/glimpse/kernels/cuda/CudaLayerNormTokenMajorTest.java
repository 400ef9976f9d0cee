package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.F32;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertBitsEqual;
import static dev.glimpse.kernels.cuda.CudaTestSupport.assertClose;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;

/**
 * GPU-only: {@code layer_norm_rows[_v4_<VPT>]_token_major} ({@link CudaBackend#layerNormTokenMajor})
 * stores exactly the bits of {@link CudaBackend#layerNorm} followed by the transposing copy it
 * replaces in the vision tower, at widths through the scalar kernel (not a multiple of 4, wider than
 * 8192) and every vectorised one, for F32, BF16 and F16 outputs, and matches the CPU's composition.
 */
class CudaLayerNormTokenMajorTest {

    @ParameterizedTest(name = "n={0}")
    @ValueSource(ints = {1001, 64, 1152, 4096, 8192, 8196})
    void tokenMajorRowsAreTheTransposedLayerNorm(int n) {
        CudaBackend gpu = cuda();
        int batch = 3;
        int tokens = 7;
        for (DType o : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            String label = "layerNormTokenMajor n=" + n + " out " + o;
            try (Tensor x = random(21, 3f, DType.F32, batch, tokens, n); Tensor gamma = random(22, 1f, DType.BF16, n);
                 Tensor beta = random(23, 1f, DType.BF16, n); Tensor gx = gpu.upload(x); Tensor gg = gpu.upload(gamma);
                 Tensor gb = gpu.upload(beta); Tensor imageMajor = gpu.allocate(o, batch, tokens, n);
                 Tensor copied = gpu.allocate(o, tokens, batch, n); Tensor direct = gpu.allocate(o, tokens, batch, n);
                 Tensor expected = Tensor.allocate(o, tokens, batch, n)) {
                gpu.layerNorm(gx, gg, gb, 1e-6f, imageMajor);
                gpu.copy(imageMajor.transpose(0, 1), copied);
                gpu.layerNormTokenMajor(gx, gg, gb, 1e-6f, direct);
                assertBitsEqual(label + " vs layerNorm + copy", copied, direct);
                CPU.layerNormTokenMajor(x, gamma, beta, 1e-6f, expected);
                assertClose(label + " vs CPU", expected, direct, o == DType.F32 ? F32 : 1e-2);
            }
        }
    }
}
