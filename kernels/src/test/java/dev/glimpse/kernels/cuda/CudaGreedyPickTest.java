package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;

import static dev.glimpse.kernels.cuda.CudaTestSupport.cuda;
import static dev.glimpse.kernels.cuda.CudaTestSupport.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The pieces of decode lookahead: {@link CudaBackend#pickGreedy} gives {@link CudaBackend#argmax}'s
 * index (first on ties) both in the device cell and back on the host, for short and vocabulary-long
 * rows; {@link CudaBackend#advance} adds one to the step inputs from the given value on, also when
 * replayed from a graph, and leaves the values before it alone.
 */
class CudaGreedyPickTest {

    @Test
    void thePickIsTheArgmaxInTheCellAndOnTheHost() {
        CudaBackend gpu = cuda();
        for (int vocab : new int[] {761, 32000, 151936}) {
            try (Tensor host = random(vocab, 1, vocab); Tensor logits = gpu.upload(host);
                 StepInputs inputs = gpu.stepInputs(4); GreedyPick pick = gpu.greedyPick(vocab)) {
                gpu.pickGreedy(logits, pick, inputs.cell(0));
                int token = pick.await();
                assertEquals(gpu.argmax(logits)[0], token, "vocab " + vocab);
                try (Tensor cell = gpu.download(inputs.cell(0))) {
                    assertEquals(token, cell.toIntArray()[0], "the device cell, vocab " + vocab);
                }
            }
        }
    }

    @Test
    void tiesGoToTheFirstIndex() {
        CudaBackend gpu = cuda();
        float[] values = new float[40000];
        values[3000] = 5f;
        values[39000] = 5f;
        try (Tensor logits = gpu.upload(Tensor.of(values, 1, values.length)); StepInputs inputs = gpu.stepInputs(1);
             GreedyPick pick = gpu.greedyPick(values.length)) {
            gpu.pickGreedy(logits, pick, inputs.cell(0));
            assertEquals(3000, pick.await());
        }
    }

    @Test
    void advanceAddsOneFromTheGivenValueOnAlsoFromAGraph() {
        CudaBackend gpu = cuda();
        try (StepInputs inputs = gpu.stepInputs(5)) {
            for (int i = 0; i < 5; i++) {
                inputs.set(i, 10 * i);
            }
            gpu.upload(inputs);
            gpu.advance(inputs, 1);
            try (StepGraph graph = gpu.capture(() -> gpu.advance(inputs, 1))) {
                gpu.launch(graph);
                gpu.launch(graph);
            }
            gpu.synchronize();
            int[] values = new int[5];
            for (int i = 0; i < 5; i++) {
                try (Tensor cell = gpu.download(inputs.cell(i))) {
                    values[i] = cell.toIntArray()[0];
                }
            }
            assertArrayEquals(new int[] {0, 13, 23, 33, 43}, values);
        }
    }
}
