package dev.glimpse.videoingest;

import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVIOInterruptCB;
import org.bytedeco.ffmpeg.avformat.Read_packet_Pointer_BytePointer_int;
import org.bytedeco.ffmpeg.avformat.Seek_Pointer_long_int;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.Pointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_SIZE;
import static org.bytedeco.ffmpeg.global.avformat.avformat_alloc_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_free_context;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avformat.avio_alloc_context;
import static org.bytedeco.ffmpeg.global.avformat.avio_context_free;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_ERROR;
import static org.bytedeco.ffmpeg.global.avutil.AV_LOG_QUIET;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_free;
import static org.bytedeco.ffmpeg.global.avutil.av_log_set_level;
import static org.bytedeco.ffmpeg.global.avutil.av_malloc;

/**
 * An opened FFmpeg demuxer over a file or in-memory bytes, with a wall-clock deadline that FFmpeg
 * polls during I/O (its interrupt callback) and that the decode loop checks between packets, so
 * that no input can hang a caller. In-memory bytes are read through a custom I/O context; files
 * and uploads may not open other protocols (playlists pointing at URLs are refused).
 */
final class FfmpegInput implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FfmpegInput.class);
    private static final int IO_BUFFER = 1 << 16;
    /** AVFMT_FLAG_CUSTOM_IO: the caller owns the I/O context. */
    private static final int AVFMT_FLAG_CUSTOM_IO = 0x0080;
    private static final Map<Long, FfmpegInput> OPEN = new ConcurrentHashMap<>();
    private static final Interrupt INTERRUPT;
    private static final Reader READER;
    private static final Seeker SEEKER;

    static {
        av_log_set_level(LOG.isDebugEnabled() ? AV_LOG_ERROR : AV_LOG_QUIET);
        INTERRUPT = new Interrupt();
        READER = new Reader();
        SEEKER = new Seeker();
    }

    final AVFormatContext format;
    final String name;
    private final MediaLimits limits;
    private final BytePointer key;
    private final long deadlineNanos;
    private final byte[] bytes;
    private AVIOContext io;
    private long position;
    private volatile boolean timedOut;

    private FfmpegInput(String name, MediaLimits limits, byte[] bytes) {
        this.name = name;
        this.limits = limits;
        this.bytes = bytes;
        this.key = new BytePointer(1);
        this.deadlineNanos = System.nanoTime() + limits.maxDecodeTime().toNanos();
        this.format = avformat_alloc_context();
        if (format == null) {
            throw new OutOfMemoryError("avformat_alloc_context failed");
        }
        OPEN.put(key.address(), this);
        AVIOInterruptCB cb = format.interrupt_callback();
        cb.callback(INTERRUPT);
        cb.opaque(key);
    }

    /**
     * Opens the container: checks the size limit and emptiness before any native code sees the
     * bytes, then lets FFmpeg probe the format.
     */
    static FfmpegInput open(VideoSource source, MediaLimits limits) {
        long size = source.size();
        limits.checkFileBytes(source.name(), size);
        if (size == 0) {
            throw new CorruptMediaException(source.name() + ": the file is empty");
        }
        byte[] bytes = source instanceof VideoSource.BytesSource b ? b.bytes() : null;
        FfmpegInput input = new FfmpegInput(source.name(), limits, bytes);
        try {
            input.openContainer(source);
            return input;
        } catch (RuntimeException e) {
            input.close();
            throw e;
        }
    }

    private void openContainer(VideoSource source) {
        String url = null;
        AVDictionary options = new AVDictionary(null);
        try {
            if (bytes != null) {
                BytePointer buffer = new BytePointer(av_malloc(IO_BUFFER)).capacity(IO_BUFFER);
                io = avio_alloc_context(buffer, IO_BUFFER, 0, key, READER, null, SEEKER);
                format.pb(io);
                format.flags(format.flags() | AVFMT_FLAG_CUSTOM_IO);
                av_dict_set(options, "protocol_whitelist", "none", 0);
            } else {
                url = "file:" + ((VideoSource.FileSource) source).path().toAbsolutePath();
                av_dict_set(options, "protocol_whitelist", "file", 0);
            }
            int r = avformat_open_input(format, url, null, options);
            if (r < 0) {
                checkDeadline();
                throw new CorruptMediaException(name + ": not a readable video or the file is truncated ("
                        + FfmpegErrors.describe(r) + ")");
            }
        } finally {
            av_dict_free(options);
        }
    }

    /** Throws if the decode-time limit has passed. */
    void checkDeadline() {
        if (timedOut || System.nanoTime() > deadlineNanos) {
            timedOut = true;
            throw new MediaLimitExceededException(name, MediaLimits.Limit.DECODE_TIME,
                    "over " + limits.maxDecodeTime().toSeconds() + " s",
                    limits.maxDecodeTime().toSeconds() + " s");
        }
    }

    @Override
    public void close() {
        if (!format.isNull()) {
            if (format.iformat() != null) {
                avformat_close_input(format);
            } else {
                avformat_free_context(format);
            }
        }
        if (io != null) {
            av_free(io.buffer());
            avio_context_free(io);
            io = null;
        }
        OPEN.remove(key.address());
        key.close();
    }

    private static FfmpegInput of(Pointer opaque) {
        return opaque == null ? null : OPEN.get(opaque.address());
    }

    /** FFmpeg asks this during blocking work whether to give up; 1 means stop. */
    private static final class Interrupt extends AVIOInterruptCB.Callback_Pointer {
        @Override
        public int call(Pointer opaque) {
            FfmpegInput in = of(opaque);
            if (in != null && System.nanoTime() > in.deadlineNanos) {
                in.timedOut = true;
                return 1;
            }
            return 0;
        }
    }

    /** Reads in-memory bytes for FFmpeg. */
    private static final class Reader extends Read_packet_Pointer_BytePointer_int {
        @Override
        public int call(Pointer opaque, BytePointer buf, int size) {
            FfmpegInput in = of(opaque);
            if (in == null) {
                return AVERROR_EOF;
            }
            int n = (int) Math.min(size, in.bytes.length - in.position);
            if (n <= 0) {
                return AVERROR_EOF;
            }
            buf.capacity(size).position(0).put(in.bytes, (int) in.position, n);
            in.position += n;
            return n;
        }
    }

    /** Seeks in in-memory bytes for FFmpeg; {@code AVSEEK_SIZE} asks for the total size. */
    private static final class Seeker extends Seek_Pointer_long_int {
        @Override
        public long call(Pointer opaque, long offset, int whence) {
            FfmpegInput in = of(opaque);
            if (in == null) {
                return -1;
            }
            if ((whence & AVSEEK_SIZE) != 0) {
                return in.bytes.length;
            }
            long target = switch (whence & 0xFFFF) {
                case 0 -> offset;
                case 1 -> in.position + offset;
                case 2 -> in.bytes.length + offset;
                default -> -1;
            };
            if (target < 0 || target > in.bytes.length) {
                return -1;
            }
            in.position = target;
            return target;
        }
    }
}
