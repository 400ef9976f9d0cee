package dev.glimpse.kernels.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The launches of the opt-in prefill, tower and decode kernels pass their arguments in the order and of the sizes the
 * kernels declare (no GPU needed): each launch chain's {@link Launch} cells ({@code ptr}, {@code i32},
 * {@code i64}, {@code f32}, in CudaAttention.java, CudaPointwise.java, CudaQueryRow.java or CudaDecodeAttention.java) against the kernel's parameter list in
 * its .cu source (a pointer takes a {@code ptr} cell, {@code int} an {@code i32}, {@code long long} an
 * {@code i64}, {@code float} an {@code f32}). The driver copies each argument by the size the kernel declares,
 * so a swapped int and long long, or a missing argument, would read neighbouring cells without any error.
 */
class KernelLaunchArgumentsTest {

    private static final Pattern CELL = Pattern.compile("\\.(ptr|i32|i64|f32)\\(");

    @ParameterizedTest(name = "{1}")
    @CsvSource({
            "prefill_rope_attention.cu, '#define PREFILL_ROPE_ATTENTION(', CudaAttention.java, 'boolean ropeAppendAttention('",
            "attention_mma.cu, '#define ATTENTION_MMA_CACHE16(', CudaAttention.java, 'boolean cacheHalfOutput('",
            "attention_mma.cu, '#define ATTENTION_MMA_PACK_KV(', CudaAttention.java, 'Tensor[] packKeysValues('",
            "rows.cu, '#define ROPE_APPEND_ROWS_VEC(', CudaPointwise.java, 'void ropeAppendKvRows('",
            "elementwise.cu, 'void activation_f32(', CudaPointwise.java, 'void activation(Activation f'",
            "elementwise.cu, 'void activation_f32_v4(', CudaPointwise.java, 'void activation(Activation f'",
            "elementwise.cu, 'void activation_bf16_v8(', CudaPointwise.java, 'void activationInPlace('",
            "elementwise.cu, 'void activation_f16_v8(', CudaPointwise.java, 'void activationInPlace('",
            "elementwise.cu, 'gated_activation_bf16_v4(', CudaPointwise.java, 'void gatedActivationRounded('",
            "elementwise.cu, 'gated_activation_f16_v4(', CudaPointwise.java, 'void gatedActivationRounded('",
            "elementwise.cu, 'gated_activation_bf16_v8(', CudaPointwise.java, 'void gatedActivationRounded('",
            "elementwise.cu, 'gated_activation_f16_v8(', CudaPointwise.java, 'void gatedActivationRounded('",
            "query_row.cu, 'void query_attention_row_f32(', CudaQueryRow.java, 'void compute('",
            "decode_wide.cu, '#define DECODE_WIDE_ROPE_KERNEL(', CudaDecodeAttention.java, 'boolean runRope('"})
    void theLaunchPassesTheKernelsParametersInOrder(String module, String kernel, String javaFile, String method)
            throws IOException {
        Path cuda = root("src/main/cuda");
        Path java = root("src/main/java/dev/glimpse/kernels/cuda");
        assumeTrue(cuda != null && java != null, "the sources are not on this machine");
        List<String> declared = declaredCells(Files.readString(cuda.resolve(module)), kernel);
        List<String> passed = launchCells(Files.readString(java.resolve(javaFile)), method);
        assertEquals(declared, passed, kernel + " in " + module + " against the launch in " + javaFile + " " + method);
    }

    /** The launch cells a kernel's parameters take, from the parameter list after {@code anchor} (a macro's NAME(...)). */
    private static List<String> declaredCells(String source, String anchor) {
        int at = source.indexOf(anchor);
        assertTrue(at >= 0, anchor + " not found");
        int open = anchor.startsWith("#define") ? source.indexOf("NAME(", at + anchor.length()) + "NAME".length()
                : at + anchor.length() - 1;
        int close = matchingParenthesis(source, open);
        String parameters = source.substring(open + 1, close).replace("\\\n", " ").replaceAll("\\s+", " ");
        List<String> cells = new ArrayList<>();
        for (String parameter : parameters.split(",")) {
            String p = parameter.trim();
            if (p.contains("*")) {
                cells.add("ptr");
            } else if (p.startsWith("long long ")) {
                cells.add("i64");
            } else if (p.startsWith("int ")) {
                cells.add("i32");
            } else if (p.startsWith("float ")) {
                cells.add("f32");
            } else {
                throw new AssertionError("parameter '" + p + "' of " + anchor + " has no launch cell type");
            }
        }
        return cells;
    }

    /** The cells of the first launch chain ({@code launch.of(...)} up to {@code .run(}) after {@code method}. */
    private static List<String> launchCells(String source, String method) {
        int at = source.indexOf(method);
        assertTrue(at >= 0, method + " not found");
        int of = source.indexOf("launch.of(", at);
        int run = source.indexOf(".run(", of);
        assertTrue(of >= 0 && run > of, "no launch chain in " + method);
        Matcher m = CELL.matcher(source.substring(of, run));
        List<String> cells = new ArrayList<>();
        while (m.find()) {
            cells.add(m.group(1));
        }
        return cells;
    }

    private static int matchingParenthesis(String s, int open) {
        int depth = 0;
        for (int i = open; i < s.length(); i++) {
            if (s.charAt(i) == '(') {
                depth++;
            } else if (s.charAt(i) == ')' && --depth == 0) {
                return i;
            }
        }
        throw new AssertionError("unbalanced parameter list at " + open);
    }

    /** {@code relative} under the kernels module, run from it or from the repository root; null when absent. */
    private static Path root(String relative) {
        for (Path p : new Path[] {Path.of(relative), Path.of("kernels").resolve(relative)}) {
            if (Files.isDirectory(p)) {
                return p;
            }
        }
        return null;
    }
}
