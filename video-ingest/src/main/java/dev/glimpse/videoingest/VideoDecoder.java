package dev.glimpse.videoingest;

import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avcodec.AVPacketSideData;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Spliterator;
import java.util.Spliterators;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_ALL;
import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_DEFAULT;
import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_DATA_DISPLAYMATRIX;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_side_data_get;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_flush_buffers;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_get_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_FLAG_BACKWARD;
import static org.bytedeco.ffmpeg.global.avformat.AV_DISPOSITION_ATTACHED_PIC;
import static org.bytedeco.ffmpeg.global.avformat.av_find_best_stream;
import static org.bytedeco.ffmpeg.global.avformat.av_guess_frame_rate;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_seek_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_DECODER_NOT_FOUND;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_TIME_BASE;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_display_rotation_get;
import static org.bytedeco.ffmpeg.global.avutil.av_q2d;

/**
 * Decodes chosen frames of one video through FFmpeg, streaming them one at a time: memory use
 * depends on the frame size, never on the video's length.
 *
 * <pre>{@code
 * try (VideoDecoder video = VideoDecoder.open(VideoSource.of(path), MediaLimits.DEFAULTS, DecodeOptions.DEFAULTS);
 *      FrameIterator frames = video.frames(new FrameSampler.UniformWithEndpoints(32).plan(video.info()))) {
 *     while (frames.hasNext()) { Frame f = frames.next(); ... }
 *     DecodeSummary summary = frames.summary();
 * }
 * }</pre>
 *
 * Opening checks the file-size, frame-size and duration limits before decoding anything. Not
 * thread-safe: use one decoder per thread.
 */
public final class VideoDecoder implements AutoCloseable {

    /** In {@link DecodeOptions.SeekMode#AUTO}, seek only when the video has this many times more frames than the plan. */
    public static final int SEEK_RATIO = 8;

    private static final Logger LOG = LoggerFactory.getLogger(VideoDecoder.class);
    /** FF_THREAD_FRAME | FF_THREAD_SLICE: decode several frames, and slices of one frame, in parallel. */
    private static final int FRAME_AND_SLICE_THREADS = 1 | 2;

    private final FfmpegInput input;
    private final MediaLimits limits;
    private final DecodeOptions options;
    private final int streamIndex;
    private final AVStream stream;
    private final AVCodecContext codec;
    private final VideoInfo info;
    private final long startTs;
    private FrameIterator active;
    private boolean consumed;

    private VideoDecoder(FfmpegInput input, MediaLimits limits, DecodeOptions options) {
        this.input = input;
        this.limits = limits;
        this.options = options;
        findStreamInfo();
        this.streamIndex = selectVideoStream();
        this.stream = input.format.streams(streamIndex);
        AVCodecParameters par = stream.codecpar();
        if (par.width() <= 0 || par.height() <= 0) {
            throw new CorruptMediaException(input.name + ": the video stream has no frame size");
        }
        limits.checkPixels(input.name, par.width(), par.height());
        for (int i = 0; i < input.format.nb_streams(); i++) {
            input.format.streams(i).discard(i == streamIndex ? AVDISCARD_DEFAULT : AVDISCARD_ALL);
        }
        this.codec = openCodec(par);
        this.startTs = stream.start_time() == AV_NOPTS_VALUE ? 0 : stream.start_time();
        this.info = describe(par);
        limits.checkDuration(input.name, info.durationSeconds());
        LOG.debug("{}: {}", input.name, info);
    }

    /**
     * Opens a video and reads its properties.
     *
     * @throws MediaException when the input is unreadable, not a video, or over a limit
     */
    public static VideoDecoder open(VideoSource source, MediaLimits limits, DecodeOptions options) {
        FfmpegInput input = FfmpegInput.open(source, limits);
        try {
            return new VideoDecoder(input, limits, options);
        } catch (RuntimeException e) {
            input.close();
            throw e;
        }
    }

    /** The video's properties. */
    public VideoInfo info() {
        return info;
    }

    /**
     * Starts decoding the planned frames. Frames come out in plan order; a previous iterator of this
     * decoder is closed and the video rewound.
     *
     * @throws MediaLimitExceededException when the plan asks for more frames than {@link MediaLimits#maxFrames()}
     */
    public FrameIterator frames(SamplePlan plan) {
        limits.checkFrames(input.name, plan.size());
        if (active != null) {
            active.close();
        }
        if (consumed) {
            av_seek_frame(input.format, streamIndex, startTs, AVSEEK_FLAG_BACKWARD);
            avcodec_flush_buffers(codec);
        }
        consumed = true;
        boolean seekAllowed = switch (options.seekMode()) {
            case SEQUENTIAL -> false;
            case SEEK -> true;
            case AUTO -> (long) plan.size() * SEEK_RATIO < info.frameCount();
        };
        active = new FrameIterator(this, plan, seekAllowed);
        return active;
    }

    /** The planned frames as a stream; closing the stream releases its native buffers. */
    public Stream<Frame> stream(SamplePlan plan) {
        FrameIterator frames = frames(plan);
        return StreamSupport.stream(Spliterators.spliterator(frames, plan.size(),
                Spliterator.ORDERED | Spliterator.SIZED | Spliterator.NONNULL), false).onClose(frames::close);
    }

    FfmpegInput input() {
        return input;
    }

    AVCodecContext codec() {
        return codec;
    }

    AVStream stream() {
        return stream;
    }

    int streamIndex() {
        return streamIndex;
    }

    long startTs() {
        return startTs;
    }

    DecodeOptions options() {
        return options;
    }

    @Override
    public void close() {
        if (active != null) {
            active.close();
            active = null;
        }
        avcodec_free_context(codec);
        input.close();
    }

    private void findStreamInfo() {
        AVFormatContext format = input.format;
        int n = format.nb_streams();
        PointerPointer<AVDictionary> perStream = new PointerPointer<>(Math.max(1, n));
        try {
            for (int i = 0; i < n; i++) {
                AVDictionary d = new AVDictionary(null);
                av_dict_set(d, "max_pixels", String.valueOf(limits.maxPixelsPerFrame()), 0);
                perStream.put(i, d);
            }
            int r = avformat_find_stream_info(format, n == 0 ? null : perStream);
            if (r < 0) {
                input.checkDeadline();
                throw new CorruptMediaException(input.name + ": cannot read the streams (" + FfmpegErrors.describe(r) + ")");
            }
        } finally {
            for (int i = 0; i < n; i++) {
                AVDictionary left = perStream.get(AVDictionary.class, i);
                if (left != null && !left.isNull()) {
                    av_dict_free(left);
                }
            }
            perStream.close();
        }
    }

    private int selectVideoStream() {
        int index = av_find_best_stream(input.format, AVMEDIA_TYPE_VIDEO, -1, -1, (AVCodec) null, 0);
        if (index == AVERROR_DECODER_NOT_FOUND) {
            throw new UnsupportedMediaException(input.name + ": no decoder for its video codec");
        }
        if (index < 0 || (input.format.streams(index).disposition() & AV_DISPOSITION_ATTACHED_PIC) != 0) {
            if (input.format.nb_streams() == 0) {
                throw new CorruptMediaException(input.name + ": the file contains no streams");
            }
            throw new UnsupportedMediaException(input.name + ": no video stream (audio-only or data-only "
                    + input.format.iformat().name().getString() + " file)");
        }
        return index;
    }

    private AVCodecContext openCodec(AVCodecParameters par) {
        AVCodec decoder = avcodec_find_decoder(par.codec_id());
        String codecName = avcodec_get_name(par.codec_id()).getString();
        if (decoder == null) {
            throw new UnsupportedMediaException(input.name + ": no decoder for video codec " + codecName);
        }
        AVCodecContext ctx = avcodec_alloc_context3(decoder);
        AVDictionary opts = new AVDictionary(null);
        try {
            int r = avcodec_parameters_to_context(ctx, par);
            if (r < 0) {
                throw new CorruptMediaException(input.name + ": bad " + codecName + " parameters (" + FfmpegErrors.describe(r) + ")");
            }
            ctx.pkt_timebase(stream.time_base());
            ctx.thread_count(options.threads());
            ctx.thread_type(FRAME_AND_SLICE_THREADS);
            av_dict_set(opts, "max_pixels", String.valueOf(limits.maxPixelsPerFrame()), 0);
            r = avcodec_open2(ctx, decoder, opts);
            if (r < 0) {
                throw new UnsupportedMediaException(input.name + ": cannot open the " + codecName
                        + " decoder (" + FfmpegErrors.describe(r) + ")");
            }
            return ctx;
        } catch (RuntimeException e) {
            avcodec_free_context(ctx);
            throw e;
        } finally {
            av_dict_free(opts);
        }
    }

    private VideoInfo describe(AVCodecParameters par) {
        double tb = av_q2d(stream.time_base());
        double fps = positive(stream.avg_frame_rate());
        if (fps == 0) {
            fps = positive(stream.r_frame_rate());
        }
        if (fps == 0) {
            fps = positive(av_guess_frame_rate(input.format, stream, null));
        }
        double duration = 0;
        if (stream.duration() != AV_NOPTS_VALUE && stream.duration() > 0) {
            duration = stream.duration() * tb;
        } else if (input.format.duration() != AV_NOPTS_VALUE && input.format.duration() > 0) {
            duration = input.format.duration() / (double) AV_TIME_BASE;
        }
        long count = stream.nb_frames();
        boolean exact = count > 0;
        if (!exact && fps > 0) {
            count = Math.round(duration * fps);
        }
        if (count <= 0) {
            count = countPackets();
            exact = true;
        }
        if (count <= 0) {
            throw new CorruptMediaException(input.name + ": the video stream has no frames");
        }
        if (fps == 0) {
            fps = duration > 0 ? count / duration : 25;
        }
        if (duration == 0) {
            duration = count / fps;
        }
        return new VideoInfo(input.format.iformat().name().getString(), avcodec_get_name(par.codec_id()).getString(),
                par.width(), par.height(), rotation(par), fps, duration, count, exact);
    }

    private static double positive(AVRational r) {
        return r != null && r.num() > 0 && r.den() > 0 ? av_q2d(r) : 0;
    }

    /** Counts the stream's packets without decoding, for containers that state neither count nor duration. */
    private long countPackets() {
        AVPacket pkt = av_packet_alloc();
        long count = 0;
        try {
            while (av_read_frame(input.format, pkt) >= 0) {
                if (pkt.stream_index() == streamIndex) {
                    count++;
                }
                av_packet_unref(pkt);
                input.checkDeadline();
            }
        } finally {
            av_packet_free(pkt);
        }
        av_seek_frame(input.format, streamIndex, startTs, AVSEEK_FLAG_BACKWARD);
        return count;
    }

    /** Clockwise degrees that turn a frame upright, from the display matrix (counter-clockwise). */
    private static int rotation(AVCodecParameters par) {
        AVPacketSideData sd = av_packet_side_data_get(par.coded_side_data(), par.nb_coded_side_data(), AV_PKT_DATA_DISPLAYMATRIX);
        if (sd == null || sd.data() == null || sd.size() < 36) {
            return 0;
        }
        double ccw = av_display_rotation_get(new IntPointer(sd.data()));
        if (Double.isNaN(ccw)) {
            return 0;
        }
        long cw = Math.round(-ccw / 90.0) * 90;
        return (int) (((cw % 360) + 360) % 360);
    }
}
