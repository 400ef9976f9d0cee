package dev.glimpse.vlmruntime.text;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The tokenizer loads with no GPU visible after a run with one has left DJL's GPU-keyed folder in
 * the cache. Each case runs in a forked JVM (a native library loads once per JVM) with
 * {@code CUDA_VISIBLE_DEVICES=""} and {@code ENGINE_CACHE_DIR} in a temporary folder laid out as a
 * GPU run (compute capability 9.0) leaves it.
 */
class NativeTokenizerLibraryTest {

    private static final String CLASSIFIER = "linux-x86_64";
    private static final String LIBRARY = "libtokenizers.so";

    @TempDir
    Path cache;

    private Path fixture;
    private String version;

    @BeforeEach
    void gpuRunLeftItsFolder() throws IOException {
        assumeTrue(System.getProperty("os.name").equals("Linux") && System.getProperty("os.arch").equals("amd64"),
                "DJL's folder layout is checked on linux-x86_64");
        fixture = TokenizerFixtures.root().resolve("tokenizers").resolve("llama-bpe");
        Properties properties = new Properties();
        try (InputStream in = resource("native/lib/tokenizers.properties")) {
            properties.load(in);
        }
        version = properties.getProperty("version");
        Path gpuFolder = cache.resolve("tokenizers").resolve(version + "-cpu-" + CLASSIFIER).resolve("90");
        Files.createDirectories(gpuFolder);
        try (InputStream in = resource("native/lib/" + CLASSIFIER + "/cpu/" + LIBRARY)) {
            Files.copy(in, gpuFolder.resolve(LIBRARY));
        }
    }

    @Test
    void djlAloneFailsOnThisLayout() throws Exception {
        Run run = fork("djl");
        assertNotEquals(0, run.exit, "DJL's own extraction is expected to fail here; output:\n" + run.output);
        assertTrue(run.output.contains(LIBRARY), run.output);
    }

    @Test
    void glimpseLoadsAndEncodesAsInProcess() throws Exception {
        Run first = fork("glimpse");
        assertEquals(0, first.exit, first.output);
        int[] expected;
        try (Tokenizer tokenizer = Tokenizer.load(fixture)) {
            expected = tokenizer.encode(Probe.TEXT, true);
        }
        assertEquals(Arrays.toString(expected), first.lastLine());

        Path extracted = cache.resolve("tokenizers").resolve("glimpse-" + version + "-cpu-" + CLASSIFIER).resolve(LIBRARY);
        assertTrue(Files.isRegularFile(extracted), "extracted to " + extracted);
        FileTime written = FileTime.fromMillis(0);
        Files.setLastModifiedTime(extracted, written);
        Run second = fork("glimpse");
        assertEquals(0, second.exit, second.output);
        assertEquals(written, Files.getLastModifiedTime(extracted), "a second run reuses the extracted library");
        try (var files = Files.list(extracted.getParent())) {
            assertEquals(List.of(extracted), files.toList(), "no partial files left beside it");
        }
    }

    @Test
    void aRustLibraryPathTheUserSetIsKept() throws Exception {
        Run run = fork("glimpse", "-D" + NativeTokenizerLibrary.OVERRIDE + "=" + cache.resolve("elsewhere"));
        assertNotEquals(0, run.exit, run.output);
        assertTrue(run.output.contains("elsewhere"), run.output);
    }

    private Run fork(String mode, String... jvmOptions) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-DENGINE_CACHE_DIR=" + cache, "-cp", System.getProperty("java.class.path"),
                Probe.class.getName(), mode, fixture.toString()));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.put("CUDA_VISIBLE_DEVICES", "");
        env.remove(NativeTokenizerLibrary.OVERRIDE);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        assertTrue(process.waitFor(120, TimeUnit.SECONDS), "forked JVM finished");
        return new Run(process.exitValue(), output);
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = HuggingFaceTokenizer.class.getClassLoader().getResourceAsStream(name);
        if (in == null) {
            throw new IOException(name + " is not on the class path");
        }
        return in;
    }

    private record Run(int exit, String output) {
        String lastLine() {
            String[] lines = output.strip().split("\n");
            return lines[lines.length - 1].strip();
        }
    }

    /** Loads the tokenizer in {@code args[1]} through DJL alone ("djl") or Glimpse ("glimpse"). */
    public static final class Probe {

        static final String TEXT = "Hello, world";

        public static void main(String[] args) throws Exception {
            Path folder = Path.of(args[1]);
            if (args[0].equals("djl")) {
                System.setProperty("ai.djl.offline", "true");
                try (HuggingFaceTokenizer tokenizer = HuggingFaceTokenizer.newInstance(folder.resolve("tokenizer.json"))) {
                    System.out.println(Arrays.toString(tokenizer.encode(TEXT).getIds()));
                }
                return;
            }
            try (Tokenizer tokenizer = Tokenizer.load(folder)) {
                System.out.println(Arrays.toString(tokenizer.encode(TEXT, true)));
            }
        }
    }
}
