package dev.glimpse.vlmruntime.bench;

import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.cpu.CpuBackend;
import dev.glimpse.kernels.cpu.CpuParallel;
import dev.glimpse.kernels.io.Checkpoint;
import dev.glimpse.vlmruntime.config.TextConfig;
import dev.glimpse.vlmruntime.decoder.Decoder;
import dev.glimpse.vlmruntime.decoder.DecoderSession;
import dev.glimpse.vlmruntime.decoder.PrefillResult;
import dev.glimpse.vlmruntime.decoder.SessionOptions;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.DoubleAdder;

/**
 * CPU decoder benchmark: a Qwen2-0.5B-shaped decoder (hidden 896, 24 layers, 14/2 heads,
 * intermediate 4864, vocab 151936, tied embeddings) with random bf16 weights streamed into a
 * temporary safetensors file and memory-mapped. Measures prefill tokens/s over
 * {@code --prompt N} tokens (default 600) and decode tokens/s over {@code --steps N} steps (default
 * 32), and puts decode against the weight-streaming roofline: weight bytes per token divided by the
 * memory bandwidth of summing the mapped embedding table in the same run (same threads). Prints
 * one JSON object; with {@code --profile}, a second one with the decode time per backend operation
 * (measured in a separate run, since timing every call adds a little overhead).
 */
public final class DecoderBench {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    private DecoderBench() {
    }

    public static void main(String[] args) throws IOException {
        int prompt = intFlag(args, "--prompt", 600);
        int steps = intFlag(args, "--steps", 32);
        run(prompt, steps, Arrays.asList(args).contains("--profile"), System.out);
    }

    static void run(int prompt, int steps, boolean profile, PrintStream out) throws IOException {
        Path dir = Files.createTempDirectory("glimpse-decoder-bench");
        try {
            TextConfig config = writeModel(dir);
            try (Checkpoint checkpoint = Checkpoint.open(dir);
                 CpuBackend backend = new CpuBackend();
                 Decoder decoder = Decoder.load(backend, checkpoint, config)) {
                long weightBytes = decoder.weights().byteSize();
                double bandwidth = bandwidth(decoder.weights().embedTokens());
                int[] ids = new SplittableRandom(1).ints(prompt, 0, config.vocabSize()).toArray();
                SessionOptions options = SessionOptions.of(prompt + steps + 8);
                try (DecoderSession warm = decoder.newSession(options)) {
                    warm.prefill(Arrays.copyOf(ids, 64));
                    for (int i = 0; i < 3; i++) {
                        warm.decode(i);
                    }
                }
                try (DecoderSession session = decoder.newSession(options)) {
                    PrefillResult prefill = session.prefill(ids);
                    float[] logits = new float[config.vocabSize()];
                    int token = 0;
                    long start = System.nanoTime();
                    for (int i = 0; i < steps; i++) {
                        session.copyLogits(logits);
                        token = argmax(logits);
                        session.decode(token);
                    }
                    double decodeSeconds = (System.nanoTime() - start) / 1e9;
                    double prefillTps = prompt / (prefill.nanos() / 1e9);
                    double decodeTps = steps / decodeSeconds;
                    double roofline = bandwidth / weightBytes;
                    out.println(String.format(Locale.ROOT, "{\"bench\":\"decoder\",\"model\":\"qwen2-0.5b-shape-bf16\","
                                    + "\"prompt_tokens\":%d,\"prefill_seconds\":%.3f,\"prefill_tokens_per_s\":%.1f,"
                                    + "\"prefill_gflops_estimate\":%.1f,\"decode_steps\":%d,\"decode_tokens_per_s\":%.2f,"
                                    + "\"weight_bytes\":%d,\"bandwidth_gb_s\":%.2f,\"roofline_tokens_per_s\":%.2f,"
                                    + "\"decode_fraction_of_roofline\":%.3f,\"threads\":%d,\"last_token\":%d}",
                            prompt, prefill.nanos() / 1e9, prefillTps, prefill.flops() / 1e9, steps, decodeTps,
                            weightBytes, bandwidth / 1e9, roofline, decodeTps / roofline, CpuParallel.threads(), token));
                }
                if (profile) {
                    out.println(profileDecode(checkpoint, config, ids, steps));
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path p : files.toList()) {
                    Files.deleteIfExists(p);
                }
            }
            Files.deleteIfExists(dir);
        }
    }

    /** Decode steps on a {@link ProfilingBackend}: milliseconds per step and calls per step, by operation. */
    private static String profileDecode(Checkpoint checkpoint, TextConfig config, int[] ids, int steps) {
        ProfilingBackend backend = new ProfilingBackend(new CpuBackend());
        try (Decoder decoder = Decoder.load(backend, checkpoint, config);
             DecoderSession session = decoder.newSession(SessionOptions.of(ids.length + steps + 8))) {
            session.prefill(ids);
            float[] logits = new float[config.vocabSize()];
            backend.drain();
            long start = System.nanoTime();
            for (int i = 0; i < steps; i++) {
                session.copyLogits(logits);
                session.decode(argmax(logits));
            }
            double stepMs = (System.nanoTime() - start) / 1e6 / steps;
            StringBuilder json = new StringBuilder(String.format(Locale.ROOT,
                    "{\"bench\":\"decoder_profile\",\"decode_ms_per_step\":%.2f,\"ops\":{", stepMs));
            String sep = "";
            for (var e : backend.drain().entrySet()) {
                json.append(String.format(Locale.ROOT, "%s\"%s\":{\"ms_per_step\":%.3f,\"calls_per_step\":%d}", sep,
                        e.getKey(), e.getValue().nanos() / 1e6 / steps, e.getValue().calls() / steps));
                sep = ",";
            }
            return json.append("}}").toString();
        }
    }

    /** Writes config.json and a random bf16 model.safetensors of the Qwen2-0.5B shape into {@code dir}. */
    static TextConfig writeModel(Path dir) {
        int hidden = 896;
        int layers = 24;
        int kv = 2 * 64;
        int inter = 4864;
        int vocab = 151936;
        String json = String.format(Locale.ROOT, "{\"model_type\":\"qwen2\",\"hidden_size\":%d,\"intermediate_size\":%d,"
                + "\"num_hidden_layers\":%d,\"num_attention_heads\":14,\"num_key_value_heads\":2,\"vocab_size\":%d,"
                + "\"max_position_embeddings\":32768,\"rope_theta\":1000000.0,\"rms_norm_eps\":1e-6,"
                + "\"tie_word_embeddings\":true,\"hidden_act\":\"silu\",\"torch_dtype\":\"bfloat16\"}",
                hidden, inter, layers, vocab);
        try {
            Files.writeString(dir.resolve("config.json"), json);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        RandomCheckpointWriter writer = new RandomCheckpointWriter().add("model.embed_tokens.weight", vocab, hidden);
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            writer.add(p + "input_layernorm.weight", hidden)
                    .add(p + "self_attn.q_proj.weight", hidden, hidden).add(p + "self_attn.q_proj.bias", hidden)
                    .add(p + "self_attn.k_proj.weight", kv, hidden).add(p + "self_attn.k_proj.bias", kv)
                    .add(p + "self_attn.v_proj.weight", kv, hidden).add(p + "self_attn.v_proj.bias", kv)
                    .add(p + "self_attn.o_proj.weight", hidden, hidden)
                    .add(p + "post_attention_layernorm.weight", hidden)
                    .add(p + "mlp.gate_proj.weight", inter, hidden).add(p + "mlp.up_proj.weight", inter, hidden)
                    .add(p + "mlp.down_proj.weight", hidden, inter);
        }
        writer.add("model.norm.weight", hidden);
        writer.write(dir.resolve("model.safetensors"), 7, 0.05f);
        return TextConfig.load(dir.resolve("config.json"));
    }

    /**
     * Bytes per second of summing the mapped embedding table (272 MB, far beyond the caches) with
     * all worker threads, as a GEMV streams weights; best of 3 after one warm-up.
     */
    private static double bandwidth(Tensor table) {
        MemorySegment segment = table.segment().asSlice(table.byteOffset(), table.numel() * table.dtype().byteSize());
        long floats = segment.byteSize() / 4 / F.length() * F.length();
        int blocks = 256;
        long perBlock = floats / blocks / F.length() * F.length();
        double best = 0;
        for (int rep = 0; rep < 4; rep++) {
            DoubleAdder sink = new DoubleAdder();
            long start = System.nanoTime();
            CpuParallel.forRange(blocks, 1, (from, to) -> {
                FloatVector acc = FloatVector.zero(F);
                for (int b = from; b < to; b++) {
                    long base = b * perBlock * 4;
                    for (long i = 0; i < perBlock; i += F.length()) {
                        acc = acc.add(FloatVector.fromMemorySegment(F, segment, base + i * 4, ByteOrder.LITTLE_ENDIAN));
                    }
                }
                sink.add(acc.reduceLanes(VectorOperators.ADD));
            });
            double seconds = (System.nanoTime() - start) / 1e9;
            if (rep > 0) {
                best = Math.max(best, blocks * perBlock * 4 / seconds);
            }
        }
        return best;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int intFlag(String[] args, String flag, int fallback) {
        for (int i = 0; i + 1 < args.length; i++) {
            if (args[i].equals(flag)) {
                return Integer.parseInt(args[i + 1]);
            }
        }
        return fallback;
    }
}
