package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.TopK;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static dev.glimpse.kernels.cuda.CudaTestSupport.CPU;
import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * {@code attention_row_scores} (scores.cu) gives the CPU backend's bits, and top-k over those
 * scores the CPU's indices: VTC-CLS keeps the same tokens on both backends. Even layers are
 * packed blocks, odd ones column slices of wider rows (copied packed before the kernel).
 */
class CudaTokenScoresTest {

    @ParameterizedTest(name = "layers={0} heads={1} width={2} first={3} ties={4}")
    @CsvSource({"7, 16, 577, 1, false", "7, 16, 577, 1, true", "1, 16, 576, 0, false", "23, 16, 577, 1, false",
            "1, 1, 5, 1, false", "32, 12, 1025, 1, false", "3, 16, 730, 1, true"})
    void scoresAndTopKMatchCpuExactly(int layers, int heads, int width, int first, boolean ties) {
        CudaBackend gpu = cuda();
        SplittableRandom r = new SplittableRandom(layers * 31L + width);
        List<Tensor> host = new ArrayList<>();
        List<Tensor> device = new ArrayList<>();
        List<Tensor> views = new ArrayList<>();
        int n = width - first;
        try (Tensor expected = Tensor.allocate(DType.F32, 1, n); Tensor actual = gpu.allocate(DType.F32, 1, n)) {
            for (int l = 0; l < layers; l++) {
                int stored = width + (l % 2) * 3;
                float[] v = new float[heads * stored];
                for (int i = 0; i < v.length; i++) {
                    v[i] = ties ? r.nextInt(4) / 64f : (float) r.nextDouble(0, 2.0 / width);
                }
                Tensor h = Tensor.of(v, heads, stored);
                host.add(h);
                Tensor d = gpu.upload(h);
                device.add(d);
                views.add(d.slice(1, 0, width));
            }
            CPU.attentionRowScores(host.stream().map(t -> t.slice(1, 0, width)).toList(), first, expected);
            gpu.attentionRowScores(views, first, actual);
            String label = "layers=" + layers + " heads=" + heads + " width=" + width + " ties=" + ties;
            try (Tensor back = gpu.download(actual)) {
                assertArrayEquals(expected.toFloatArray(), back.toFloatArray(), 0f, label + " scores");
            }
            for (int k : new int[] {1, Math.max(1, n / 9), n / 2}) {
                try (TopK want = CPU.topK(expected, k, TopK.Order.BY_INDEX);
                     TopK got = gpu.topK(actual, k, TopK.Order.BY_INDEX);
                     Tensor indices = gpu.download(got.indices())) {
                    assertArrayEquals(want.indices().toIntArray(), indices.toIntArray(), label + " k=" + k);
                }
            }
            System.out.println("PARITY attentionRowScores " + label + " exact");
        } finally {
            device.forEach(Tensor::close);
            host.forEach(Tensor::close);
        }
    }
}
