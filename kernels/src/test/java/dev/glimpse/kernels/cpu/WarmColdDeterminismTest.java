package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.Activation;
import dev.glimpse.kernels.AttentionMask;
import dev.glimpse.kernels.DType;
import dev.glimpse.kernels.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU kernels with exp or tanh in them give the same bits in a JVM that only interprets
 * ({@code -Xint}) as in one where C2 has compiled them: a softmax, attention and the
 * sigmoid/tanh activations run once in a forked interpreter-only JVM and here after 20,000 warm-up
 * rounds, and the raw floats must agree bit for bit.
 */
class WarmColdDeterminismTest {

    private static final int WARM_UP_ROUNDS = 20_000;

    @TempDir
    Path dir;

    @Test
    void interpretedAndCompiledKernelsGiveIdenticalBits() throws Exception {
        Path cold = dir.resolve("interpreted.f32");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xint", "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Workload.class.getName(), cold.toString())
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "forked -Xint JVM finished");
        assertEquals(0, p.exitValue(), output);

        for (int i = 0; i < WARM_UP_ROUNDS; i++) {
            Workload.run();
        }
        float[] warm = Workload.run();
        float[] interpreted = read(cold);
        assertEquals(warm.length, interpreted.length);
        for (int i = 0; i < warm.length; i++) {
            assertEquals(Float.floatToIntBits(interpreted[i]), Float.floatToIntBits(warm[i]),
                    "output " + i + ": interpreted " + interpreted[i] + ", compiled " + warm[i]);
        }
    }

    private static float[] read(Path file) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[bytes.remaining() / 4];
        bytes.asFloatBuffer().get(values);
        return values;
    }

    /** Softmax, attention and the exp/tanh activations on fixed inputs; main writes the outputs. */
    public static final class Workload {

        private static final CpuBackend BACKEND = new CpuBackend();

        public static void main(String[] args) throws IOException {
            float[] out = run();
            ByteBuffer bytes = ByteBuffer.allocate(out.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(out);
            Files.write(Path.of(args[0]), bytes.array());
        }

        static float[] run() {
            Random random = new Random(3);
            float[] x = new float[3 * 37];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) random.nextGaussian() * 4f;
            }
            float[] all = new float[0];
            try (Tensor t = Tensor.of(x, 3, 37); Tensor out = Tensor.allocate(DType.F32, 3, 37)) {
                BACKEND.softmax(t, out);
                all = append(all, out.toFloatArray());
                for (Activation f : new Activation[] {Activation.SILU, Activation.QUICK_GELU, Activation.GELU_TANH}) {
                    BACKEND.activation(f, t, out);
                    all = append(all, out.toFloatArray());
                }
            }
            float[] q = new float[5 * 2 * 8];
            float[] kv = new float[37 * 2 * 8];
            for (int i = 0; i < q.length; i++) {
                q[i] = (float) random.nextGaussian();
            }
            for (int i = 0; i < kv.length; i++) {
                kv[i] = (float) random.nextGaussian();
            }
            try (Tensor tq = Tensor.of(q, 5, 2, 8); Tensor tkv = Tensor.of(kv, 37, 2, 8);
                 Tensor out = Tensor.allocate(DType.F32, 5, 2, 8)) {
                BACKEND.attention(tq, tkv, tkv, AttentionMask.causal(32), 0.35f, out, null);
                all = append(all, out.toFloatArray());
            }
            return all;
        }

        private static float[] append(float[] a, float[] b) {
            float[] c = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, c, a.length, b.length);
            return c;
        }
    }
}
