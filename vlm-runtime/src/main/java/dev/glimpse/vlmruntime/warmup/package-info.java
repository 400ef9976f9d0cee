/**
 * Warming a serving process up before it takes requests ({@link dev.glimpse.vlmruntime.warmup.ServeWarmup}):
 * synthetic requests that make the cuBLASLt measurements and CUDA graph captures the first real requests of each
 * prompt-length bucket would otherwise pay inside their time to first token.
 */
package dev.glimpse.vlmruntime.warmup;
