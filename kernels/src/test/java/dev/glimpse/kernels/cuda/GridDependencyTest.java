package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels {@link Launch} gives programmatic dependent launch ({@link GridDependency#WAITING_KERNELS})
 * against the CUDA sources (no GPU needed): each must be defined in decode.cu, decode_online16.cu,
 * decode_wide.cu, decode_fused.cu or gemv.cu (or their headers) and its code (the kernel body, the body of the macro that stamps it out, or a device
 * function that body calls) must call {@code grid_dependency_enter()} or {@code grid_dependency_wait()}.
 * A kernel listed without the wait would read its predecessor's outputs before they are written.
 * The prefill and vision kernels ({@link GridDependency#PREFILL_WAITING_KERNELS}) are held to a
 * stricter rule, checked on their modules with the function-like macros expanded (their names are
 * pasted together with {@code ##}): the wait is the kernel body's first statement, so it precedes
 * every global access and every return.
 */
class GridDependencyTest {

    private static final List<String> MODULES = List.of("decode.cu", "decode_common.cuh", "decode_merge.cuh",
            "decode_online.cuh", "decode_online16.cu", "decode_wide.cu", "decode_fused.cu", "gemv.cu", "gemv_core.cuh");
    private static final Pattern WAIT = Pattern.compile("\\bgrid_dependency_(enter|wait)\\(\\)");

    private static final List<String> PREFILL_MODULES = List.of("rows.cu", "norm_rows.cu", "elementwise.cu", "copy.cu",
            "attention_mma.cu", "scores.cu", "topk.cu");
    private static final Pattern FIRST_STATEMENT_WAITS = Pattern.compile("^\\{\\s*grid_dependency_(enter|wait)\\(\\)\\s*;");
    private static final Pattern DEFINE = Pattern.compile("(?m)^[ \\t]*#define[ \\t]+(\\w+)\\(([^)]*)\\)([^\\n]*)$");

    private static String sources() throws IOException {
        return sources(MODULES);
    }

    private static String sources(List<String> modules) throws IOException {
        Path dir = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda") : Path.of("kernels/src/main/cuda");
        StringBuilder all = new StringBuilder();
        for (String m : modules) {
            all.append(Files.readString(dir.resolve(m))).append('\n');
        }
        return all.toString().replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "");
    }

    /** The text from the '{' at or after {@code from} to its matching '}'. */
    private static String block(String src, int from) {
        int open = src.indexOf('{', from);
        int depth = 0;
        for (int i = open; i < src.length(); i++) {
            char c = src.charAt(i);
            if (c == '{') {
                depth++;
            } else if (c == '}' && --depth == 0) {
                return src.substring(open, i + 1);
            }
        }
        throw new AssertionError("unbalanced braces after offset " + from);
    }

    /** The body of device function {@code name} (the first definition), or null. */
    private static String deviceBody(String src, String name) {
        Matcher m = Pattern.compile("__device__[^;{]*?\\b" + Pattern.quote(name) + "\\s*\\(").matcher(src);
        return m.find() ? block(src, m.end()) : null;
    }

    /** True when code waits itself or calls a device function whose body does. */
    private static boolean waits(String src, String code) {
        if (WAIT.matcher(code).find()) {
            return true;
        }
        Matcher call = Pattern.compile("\\b([A-Za-z_]\\w*)\\s*(<[^;()]*>)?\\s*\\(").matcher(code);
        while (call.find()) {
            String body = deviceBody(src, call.group(1));
            if (body != null && WAIT.matcher(body).find()) {
                return true;
            }
        }
        return false;
    }

    /** The code of kernel {@code name}: its own body, or the body of the macro that defines it. */
    private static String kernelCode(String src, String name) {
        Matcher direct = Pattern.compile("__global__[^;{]*?\\b" + Pattern.quote(name) + "\\s*\\(").matcher(src);
        if (direct.find()) {
            return block(src, direct.end());
        }
        Matcher stamped = Pattern.compile("(?m)^\\s*(\\w+)\\(\\s*" + Pattern.quote(name) + "\\s*,").matcher(src);
        if (stamped.find()) {
            Matcher define = Pattern.compile("#define\\s+" + Pattern.quote(stamped.group(1)) + "\\((?:[^\\n]*\\\\\\n)*[^\\n]*")
                    .matcher(src);
            if (define.find()) {
                return define.group();
            }
        }
        return null;
    }

    /** A function-like macro: its parameters and its body (continuation lines joined). */
    private record Macro(List<String> params, String body) {
    }

    /**
     * {@code src} (comments removed) with its function-like macros expanded as the preprocessor would
     * for these sources: parameters replaced by their arguments, {@code ##} pasting the tokens around
     * it, invocations in an expansion expanded again; the {@code #define} lines themselves removed.
     */
    static String expandMacros(String src) {
        String joined = src.replace("\\\n", " ");
        Map<String, Macro> macros = new HashMap<>();
        Matcher d = DEFINE.matcher(joined);
        while (d.find()) {
            List<String> params = new ArrayList<>();
            for (String p : d.group(2).split(",")) {
                if (!p.isBlank()) {
                    params.add(p.trim());
                }
            }
            macros.put(d.group(1), new Macro(params, d.group(3)));
        }
        String text = DEFINE.matcher(joined).replaceAll("");
        Pattern call = Pattern.compile("\\b(" + String.join("|", macros.keySet()) + ")\\s*\\(");
        for (int round = 0; round < 8 && !macros.isEmpty(); round++) {
            Matcher m = call.matcher(text);
            StringBuilder out = new StringBuilder();
            int at = 0;
            boolean any = false;
            while (m.find(at)) {
                List<String> args = new ArrayList<>();
                int end = arguments(text, m.end(), args);
                Macro macro = macros.get(m.group(1));
                String body = macro.body();
                for (int i = 0; i < macro.params().size(); i++) {
                    body = body.replaceAll("\\b" + Pattern.quote(macro.params().get(i)) + "\\b",
                            Matcher.quoteReplacement(args.get(i).trim()));
                }
                out.append(text, at, m.start()).append(body.replaceAll("\\s*##\\s*", ""));
                at = end;
                any = true;
            }
            out.append(text.substring(at));
            text = out.toString();
            if (!any) {
                break;
            }
        }
        return text;
    }

    /** Splits the arguments of a macro call whose '(' ends before {@code from}; returns the offset after its ')'. */
    private static int arguments(String text, int from, List<String> args) {
        int depth = 0;
        int start = from;
        for (int i = from; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')' && depth-- == 0) {
                args.add(text.substring(start, i));
                return i + 1;
            } else if (c == ',' && depth == 0) {
                args.add(text.substring(start, i));
                start = i + 1;
            }
        }
        throw new AssertionError("unbalanced macro call at offset " + from);
    }

    /** The body of kernel {@code name} in expanded sources, or null. */
    private static String expandedKernelBody(String expanded, String name) {
        Matcher m = Pattern.compile("__global__[^;{]*?\\b" + Pattern.quote(name) + "\\s*\\(").matcher(expanded);
        return m.find() ? block(expanded, m.end()) : null;
    }

    /**
     * The {@code _staged} fused decode GEMVs (decode_fused.cu, {@link WeightStaging}) read weights before
     * their wait, which the check above cannot tell from a late wait: their device functions compile both
     * builds from one template, so the unstaged branch's wait satisfies it. Here each staged branch must call
     * {@code gemv_core_staged_enter} (which waits) before anything that reads activations or writes.
     */
    @Test
    void everyStagedBranchWaitsBeforeItReadsActivations() throws IOException {
        String src = sources();
        assertTrue(WAIT.matcher(deviceBody(src, "gemv_core_staged_enter")).find(), "gemv_core_staged_enter waits");
        for (String fn : List.of("norm_linears", "norm_gated_mlp_in", "linear_residual")) {
            String body = deviceBody(src, fn);
            int at = body.indexOf("if constexpr (STAGED)");
            assertTrue(at >= 0, fn + " has a staged branch");
            String branch = block(body, at);
            int enter = branch.indexOf("gemv_core_staged_enter(");
            assertTrue(enter >= 0, fn + ": its staged branch waits");
            String before = branch.substring(0, enter);
            for (String after : List.of("stage_rms_normed", "gemv_core_group", "gemv_core_publish", "cp_async_wait_all",
                    "__ldg", "out[", "residual[", "x[")) {
                assertFalse(before.contains(after), fn + ": " + after + " before the staged branch's wait");
            }
            String prologue = body.substring(0, at);
            for (String read : List.of("stage_rms_normed", "gemv_core_group", "__ldg", "residual[", "x[")) {
                assertFalse(prologue.contains(read), fn + ": " + read + " before the staged or unstaged wait");
            }
        }
    }

    @Test
    void everyPrefillKernelWaitsBeforeAnythingElse() throws IOException {
        String expanded = expandMacros(sources(PREFILL_MODULES));
        List<String> failures = new ArrayList<>();
        for (String kernel : GridDependency.PREFILL_WAITING_KERNELS) {
            String body = expandedKernelBody(expanded, kernel);
            if (body == null) {
                failures.add(kernel + ": not defined in " + PREFILL_MODULES);
            } else if (!FIRST_STATEMENT_WAITS.matcher(body).find()) {
                failures.add(kernel + ": its first statement is not grid_dependency_wait() or grid_dependency_enter()");
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void theExpansionFindsPastedNamesAndAKernelThatWaitsTooLate() {
        String src = "#define K(NAME, T) \\\n extern \"C\" __global__ void NAME(T* x) { \\\n BODY(x) }\n"
                + "#define BODY(P) grid_dependency_wait(); P[0] = 1;\n"
                + "#define BOTH(TN, T) K(pasted_##TN##_kernel, T)\n"
                + "BOTH(bf16, float)\n"
                + "extern \"C\" __global__ void late(float* x) { if (x == 0) return; grid_dependency_wait(); }\n";
        String expanded = expandMacros(src);
        String pasted = expandedKernelBody(expanded, "pasted_bf16_kernel");
        assertTrue(pasted != null && FIRST_STATEMENT_WAITS.matcher(pasted).find(), expanded);
        assertFalse(FIRST_STATEMENT_WAITS.matcher(expandedKernelBody(expanded, "late")).find());
    }

    @Test
    void thePrefillSetCoversTheLlavaPrefillAndTowerKernels() {
        for (String kernel : List.of("rms_norm_rows_v4_4", "rope_append_kv_rows_vec_bf16",
                "attention_mma_cache_bf16_d128_w2s2_o16", "gated_activation_f32_v4", "layer_norm_rows_v4_2_token_major",
                "attention_mma_pack_bf16_d64", "attention_mma_images_bf16_d64_w2s2", "activation_f32", "convert_f32")) {
            assertTrue(GridDependency.prefillWaits(kernel), kernel);
        }
        Set<String> both = new HashSet<>(GridDependency.PREFILL_WAITING_KERNELS);
        both.retainAll(GridDependency.WAITING_KERNELS);
        assertEquals(Set.of(), both, "kernels in both sets");
    }

    @Test
    void prefillKernelsLaunchProgrammaticallyOnlyUnderBothProperties() {
        String pdl = System.getProperty(GridDependency.PROPERTY);
        String prefill = System.getProperty(GridDependency.PREFILL_PROPERTY);
        try {
            System.clearProperty(GridDependency.PROPERTY);
            System.clearProperty(GridDependency.PREFILL_PROPERTY);
            assertFalse(GridDependency.programmatic("rms_norm_rows_v4_4"), "default");
            assertTrue(GridDependency.programmatic("attention_decode_fused"), "decode kernel, default");
            System.setProperty(GridDependency.PREFILL_PROPERTY, "true");
            assertTrue(GridDependency.programmatic("rms_norm_rows_v4_4"), "pdlPrefill=true");
            assertFalse(GridDependency.programmatic("attention_forward"), "a kernel in neither set");
            System.setProperty(GridDependency.PROPERTY, "false");
            assertFalse(GridDependency.programmatic("rms_norm_rows_v4_4"), "pdl=false turns every kernel off");
            assertFalse(GridDependency.programmatic("attention_decode_fused"), "pdl=false, decode kernel");
            System.clearProperty(GridDependency.PROPERTY);
            System.setProperty(GridDependency.PREFILL_PROPERTY, "yes");
            assertThrows(CudaException.class, () -> GridDependency.programmatic("rms_norm_rows"));
        } finally {
            CudaTestSupport.restore(GridDependency.PROPERTY, pdl);
            CudaTestSupport.restore(GridDependency.PREFILL_PROPERTY, prefill);
        }
    }

    @Test
    void everyKernelLaunchedProgrammaticallyWaitsForItsPredecessor() throws IOException {
        String src = sources();
        List<String> failures = new ArrayList<>();
        for (String kernel : GridDependency.WAITING_KERNELS) {
            String code = kernelCode(src, kernel);
            if (code == null) {
                failures.add(kernel + ": not defined in " + MODULES);
            } else if (!waits(src, code)) {
                failures.add(kernel + ": never calls grid_dependency_wait()");
            }
        }
        assertEquals(List.of(), failures);
    }

    @Test
    void theCheckFindsAKernelWithoutTheWait() throws IOException {
        String src = sources() + "\nextern \"C\" __global__ void no_wait(float* x) { x[0] = 1.f; }\n";
        assertFalse(waits(src, kernelCode(src, "no_wait")));
        assertTrue(waits(src, kernelCode(src, "rms_norm_linear_1")));
    }

    @Test
    void kernelsOutsideTheListKeepPlainStreamOrder() {
        assertFalse(GridDependency.waits("binary_broadcast"));
        assertFalse(GridDependency.waits("attention_forward"));
        assertTrue(GridDependency.waits("attention_decode_fused_vec4"));
    }

    @Test
    void thePropertyTakesTrueOrFalseOnly() {
        String old = System.getProperty(GridDependency.PROPERTY);
        try {
            System.clearProperty(GridDependency.PROPERTY);
            assertTrue(GridDependency.enabled());
            System.setProperty(GridDependency.PROPERTY, "false");
            assertFalse(GridDependency.enabled());
            System.setProperty(GridDependency.PROPERTY, "yes");
            assertThrows(CudaException.class, GridDependency::enabled);
        } finally {
            if (old == null) {
                System.clearProperty(GridDependency.PROPERTY);
            } else {
                System.setProperty(GridDependency.PROPERTY, old);
            }
        }
    }
}
