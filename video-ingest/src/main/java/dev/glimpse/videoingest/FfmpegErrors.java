package dev.glimpse.videoingest;

import static org.bytedeco.ffmpeg.global.avutil.av_strerror;

/** FFmpeg error codes in words. */
final class FfmpegErrors {

    private FfmpegErrors() {
    }

    static String describe(int code) {
        byte[] buf = new byte[256];
        if (av_strerror(code, buf, buf.length) < 0) {
            return "error " + code;
        }
        int len = 0;
        while (len < buf.length && buf[len] != 0) {
            len++;
        }
        return new String(buf, 0, len, java.nio.charset.StandardCharsets.UTF_8);
    }
}
