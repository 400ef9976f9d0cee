package dev.glimpse.videoingest;

import dev.glimpse.kernels.image.RgbImage;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVIndexEntry;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Iterator;
import java.util.NoSuchElementException;

import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_flush_buffers;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_FLAG_BACKWARD;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.av_seek_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_index_get_entries_count;
import static org.bytedeco.ffmpeg.global.avformat.avformat_index_get_entry_from_timestamp;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_move_ref;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_unref;
import static org.bytedeco.ffmpeg.global.avutil.av_q2d;
import static org.bytedeco.ffmpeg.global.swscale.SWS_AREA;
import static org.bytedeco.ffmpeg.global.swscale.SWS_BICUBIC;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getCachedContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;

/**
 * Produces the frames of a {@link SamplePlan}, decoding only as far as needed. For each target
 * time it returns the first frame whose presentation time is at or after the target (within half
 * a frame), which for constant-rate video is exactly the planned frame. When a target lies beyond
 * the next keyframe and seeking is allowed, it seeks to the keyframe before the target and
 * decodes forward to it (frame-accurate); otherwise it decodes on. Damaged packets are counted and
 * skipped (see {@link #summary()}); the next decodable frame stands in for a lost one.
 *
 * <p>Holds at most one decoded frame plus the decoder's own reference frames. Close it (or its
 * {@link VideoDecoder}) to release native buffers.
 */
public final class FrameIterator implements Iterator<Frame>, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FrameIterator.class);
    /** AVERROR(EAGAIN) on Linux. */
    private static final int EAGAIN = -11;
    private static final int AV_FRAME_FLAG_CORRUPT = 1;
    /** Without a seek index, seek only across gaps longer than this. */
    private static final double NO_INDEX_SEEK_GAP_SECONDS = 5;
    /** Demuxer errors in a row after which the rest of the file is treated as lost. */
    private static final int MAX_READ_ERRORS_IN_A_ROW = 64;

    private final VideoDecoder video;
    private final SamplePlan plan;
    private final boolean seekAllowed;
    private final double timeBase;
    private final double fps;
    private final AVPacket packet = av_packet_alloc();
    private final AVFrame decoded = av_frame_alloc();
    private final AVFrame held = av_frame_alloc();
    private SwsContext sws;
    private BytePointer rgb;
    private int next;
    private boolean haveHeld;
    /** The held frame precedes the last seek: kept only to answer targets past the end. */
    private boolean heldBeforeSeek;
    private long heldTs;
    private boolean flushed;
    private boolean ended;
    private boolean seekable = true;
    private boolean closed;
    private int returned;
    private long framesDecoded;
    private int decodeErrors;
    private int corruptFrames;
    private int seeks;
    private int pastEnd;

    FrameIterator(VideoDecoder video, SamplePlan plan, boolean seekAllowed) {
        this.video = video;
        this.plan = plan;
        this.seekAllowed = seekAllowed;
        this.timeBase = av_q2d(video.stream().time_base());
        this.fps = video.info().fps();
    }

    @Override
    public boolean hasNext() {
        return !closed && next < plan.size();
    }

    @Override
    public Frame next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        double target = plan.targets().get(next).seconds();
        double tolerance = 0.5 / fps;
        if (shouldSeek(target, tolerance)) {
            seek(target);
        }
        while (!haveHeld || heldBeforeSeek || seconds(heldTs) < target - tolerance) {
            if (!decodeNext()) {
                if (!haveHeld) {
                    throw new CorruptMediaException(video.input().name + ": no decodable video frames ("
                            + decodeErrors + " decode errors)");
                }
                pastEnd++;
                LOG.debug("{}: target {} s is after the last decodable frame at {} s",
                        video.input().name, target, seconds(heldTs));
                break;
            }
        }
        next++;
        returned++;
        double t = seconds(heldTs);
        return new Frame(Math.round(t * fps), t, convert());
    }

    /** Counts so far; final once {@link #hasNext()} is false. */
    public DecodeSummary summary() {
        return new DecodeSummary(returned, framesDecoded, decodeErrors, corruptFrames, seeks, pastEnd);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        av_packet_free(packet);
        av_frame_free(decoded);
        av_frame_free(held);
        if (sws != null) {
            sws_freeContext(sws);
        }
        if (rgb != null) {
            rgb.close();
        }
    }

    private double seconds(long ts) {
        return (ts - video.startTs()) * timeBase;
    }

    private long toTs(double seconds) {
        return video.startTs() + Math.round(seconds / timeBase);
    }

    /**
     * Seek when allowed and the keyframe before the target lies past the current position (so
     * decoding on would pass through frames that seeking skips).
     */
    private boolean shouldSeek(double target, double tolerance) {
        if (!seekAllowed || !seekable) {
            return false;
        }
        if (haveHeld && !heldBeforeSeek && seconds(heldTs) >= target - tolerance) {
            return false;
        }
        double position = haveHeld ? seconds(heldTs) : 0;
        if (avformat_index_get_entries_count(video.stream()) > 0) {
            AVIndexEntry key = avformat_index_get_entry_from_timestamp(video.stream(), toTs(target), AVSEEK_FLAG_BACKWARD);
            return key != null && seconds(key.timestamp()) > position + tolerance;
        }
        return target - position > NO_INDEX_SEEK_GAP_SECONDS;
    }

    private void seek(double target) {
        int r = av_seek_frame(video.input().format, video.streamIndex(), toTs(target), AVSEEK_FLAG_BACKWARD);
        if (r < 0) {
            LOG.debug("{}: cannot seek ({}); decoding sequentially", video.input().name, FfmpegErrors.describe(r));
            seekable = false;
            return;
        }
        seeks++;
        avcodec_flush_buffers(video.codec());
        heldBeforeSeek = haveHeld;
        flushed = false;
        ended = false;
    }

    /** Decodes the next frame into {@code held}; false at the end of the stream. */
    private boolean decodeNext() {
        int readErrors = 0;
        while (!ended) {
            video.input().checkDeadline();
            int r = avcodec_receive_frame(video.codec(), decoded);
            if (r >= 0) {
                accept();
                return true;
            }
            if (r == AVERROR_EOF) {
                ended = true;
                break;
            }
            if (r != EAGAIN) {
                decodeErrors++;
                continue;
            }
            if (flushed) {
                ended = true;
                break;
            }
            r = av_read_frame(video.input().format, packet);
            if (r < 0) {
                video.input().checkDeadline();
                if (r != AVERROR_EOF && ++readErrors < MAX_READ_ERRORS_IN_A_ROW) {
                    decodeErrors++;
                    continue;
                }
                avcodec_send_packet(video.codec(), null);
                flushed = true;
                continue;
            }
            readErrors = 0;
            if (packet.stream_index() == video.streamIndex()) {
                r = avcodec_send_packet(video.codec(), packet);
                if (r < 0 && r != EAGAIN) {
                    decodeErrors++;
                }
            }
            av_packet_unref(packet);
        }
        return false;
    }

    private void accept() {
        framesDecoded++;
        if ((decoded.flags() & AV_FRAME_FLAG_CORRUPT) != 0 || decoded.decode_error_flags() != 0) {
            corruptFrames++;
        }
        long ts = decoded.best_effort_timestamp();
        if (ts == AV_NOPTS_VALUE) {
            ts = decoded.pts();
        }
        if (ts == AV_NOPTS_VALUE) {
            ts = haveHeld ? heldTs + Math.max(1, Math.round(1 / (fps * timeBase))) : video.startTs();
        }
        av_frame_unref(held);
        av_frame_move_ref(held, decoded);
        heldTs = ts;
        haveHeld = true;
        heldBeforeSeek = false;
    }

    /** Scales the held frame to RGB at the output size and turns it upright. */
    private RgbImage convert() {
        int srcW = held.width();
        int srcH = held.height();
        int maxSide = video.options().maxSide();
        int dstW = srcW;
        int dstH = srcH;
        if (maxSide > 0 && Math.max(srcW, srcH) > maxSide) {
            double scale = (double) maxSide / Math.max(srcW, srcH);
            dstW = Math.max(1, (int) Math.round(srcW * scale));
            dstH = Math.max(1, (int) Math.round(srcH * scale));
        }
        int flags = dstW < srcW ? SWS_AREA : SWS_BICUBIC;
        sws = sws_getCachedContext(sws, srcW, srcH, held.format(), dstW, dstH, AV_PIX_FMT_RGB24, flags,
                null, null, (DoublePointer) null);
        if (sws == null) {
            throw new UnsupportedMediaException(video.input().name + ": cannot convert pixel format " + held.format() + " to RGB");
        }
        int bytes = dstW * dstH * 3;
        if (rgb == null || rgb.capacity() < bytes) {
            if (rgb != null) {
                rgb.close();
            }
            rgb = new BytePointer(bytes);
        }
        try (PointerPointer<BytePointer> dst = new PointerPointer<BytePointer>(4).put(0, rgb.position(0));
             IntPointer dstStride = new IntPointer(new int[] {dstW * 3, 0, 0, 0})) {
            sws_scale(sws, held.data(), held.linesize(), 0, srcH, dst, dstStride);
        }
        byte[] out = new byte[bytes];
        rgb.position(0).get(out, 0, bytes);
        RgbImage image = new RgbImage(dstW, dstH, out);
        return video.options().autoRotate() ? image.rotatedClockwise(video.info().rotation()) : image;
    }
}
