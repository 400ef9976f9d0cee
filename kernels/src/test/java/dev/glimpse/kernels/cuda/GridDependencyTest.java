package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
 */
class GridDependencyTest {

    private static final List<String> MODULES = List.of("decode.cu", "decode_common.cuh", "decode_merge.cuh",
            "decode_online.cuh", "decode_online16.cu", "decode_wide.cu", "decode_fused.cu", "gemv.cu", "gemv_core.cuh");
    private static final Pattern WAIT = Pattern.compile("\\bgrid_dependency_(enter|wait)\\(\\)");

    private static String sources() throws IOException {
        Path dir = Files.isDirectory(Path.of("src/main/cuda")) ? Path.of("src/main/cuda") : Path.of("kernels/src/main/cuda");
        StringBuilder all = new StringBuilder();
        for (String m : MODULES) {
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
