package dev.glimpse.app;

/**
 * Configures slf4j-simple for the CLI before the first logger exists: messages go to stderr,
 * warnings and errors by default, info with {@code --verbose}, debug with {@code --debug}.
 */
final class Logging {

    private Logging() {
    }

    static void configure(boolean debug, boolean verbose) {
        String level = debug ? "debug" : verbose ? "info" : "warn";
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("glimpse.log", level));
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
        // The REST service's access log (one line per request, with its id) and its warm-up's progress show by default.
        System.setProperty("org.slf4j.simpleLogger.log.dev.glimpse.app.serve",
                System.getProperty("glimpse.log", debug ? "debug" : "info"));
        System.setProperty("org.slf4j.simpleLogger.log.dev.glimpse.vlmruntime.warmup",
                System.getProperty("glimpse.log", debug ? "debug" : "info"));
        if (!debug) {
            // DJL's tokenizer probes for a GPU on first use and warns when a CUDA runtime is on the
            // machine without a matching driver; Glimpse never uses DJL on a GPU.
            System.setProperty("org.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils", "error");
            // It also logs, at info, the library folder Glimpse points it at (NativeTokenizerLibrary).
            System.setProperty("org.slf4j.simpleLogger.log.ai.djl.huggingface.tokenizers.jni.LibUtils", "warn");
        }
    }
}
