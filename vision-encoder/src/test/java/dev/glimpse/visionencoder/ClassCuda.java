package dev.glimpse.visionencoder;

import dev.glimpse.kernels.Backends;
import dev.glimpse.kernels.cuda.CudaBackend;
import dev.glimpse.kernels.cuda.CudaOptions;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One CUDA backend for a GPU test class, registered as a static {@code @RegisterExtension} field: opened
 * before the class's first test, closed after its last, and every test skipped, with the reason, where
 * no CUDA device is usable (so CPU-only machines show these tests as skipped, never passed).
 */
final class ClassCuda implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback {

    private final String tests;
    private CudaBackend backend;
    private String unavailable;

    /** {@code tests} names the class's tests in the skip message, e.g. "CUDA tower lean tests". */
    ClassCuda(String tests) {
        this.tests = tests;
    }

    /** The class's backend; null only where CUDA is unavailable, and then no test runs. */
    CudaBackend backend() {
        return backend;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        try {
            backend = CudaBackend.open(CudaOptions.defaults());
        } catch (Backends.UnavailableException e) {
            unavailable = e.getMessage();
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (backend != null) {
            backend.close();
            backend = null;
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        assumeTrue(backend != null, () -> "no GPU: " + tests + " skipped (" + unavailable + ")");
    }
}
