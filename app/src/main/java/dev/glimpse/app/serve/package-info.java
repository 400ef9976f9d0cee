/**
 * {@code glimpse serve}: the REST service for frame-budgeted captioning, on the JDK's
 * {@code com.sun.net.httpserver} (no server dependency).
 *
 * <p>One request: {@link dev.glimpse.app.serve.Router} gives it an id and dispatches by path and
 * method; {@link dev.glimpse.app.serve.CaptionEndpoint} admits it through the
 * {@link dev.glimpse.app.serve.AdmissionGate} (503 when the running and queued places are taken),
 * reads the body through a {@link dev.glimpse.app.serve.BoundedInputStream} (413 past
 * {@code --max-request-bytes}, counted while reading) with the multipart or JSON reader, which
 * stream the media into a temp file; {@link dev.glimpse.app.serve.CaptionFields} validates the
 * other fields (400 naming the field); the model answers ({@code VisionLanguageModel#ask}, one
 * call at a time: the model is internally locked); media errors of video-ingest become 415/422;
 * the temp file is deleted before the response, which has the shape of {@code glimpse ask --json}.
 * Every error is {@code {"error": {"code", "message"}}} on a connection then closed, after what
 * the client still sends of its body has been discarded within bounds
 * ({@link dev.glimpse.app.serve.LingeringClose}), so that the error arrives rather than a reset;
 * stack traces go to the log only, under the request id.
 *
 * <p>The process: after the model loads, {@link dev.glimpse.app.serve.ServeLifecycle} runs the warm-up while
 * {@link dev.glimpse.app.serve.Readiness} says warming, then marks it ready and serves until SIGINT/SIGTERM's shutdown
 * hook stops it; a warm-up failure other than a refused budget stops the server instead (exit status 1, never ready).
 *
 * <p>Memory per request: the body is never buffered (media stream to disk, base64 is decoded as
 * parsed, text fields are capped); the model holds the decoded image, or the sampled frames of a
 * video (at most {@code --max-frames}), never the whole video.
 */
package dev.glimpse.app.serve;
