package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Widening loads of bf16 and f16 weights into F32 vectors, and whole-row conversion into F32
 * scratch. Both conversions are exact (every bf16/f16 value is a float).
 *
 * <p>bf16: the 16 bits are the high half of a float: widen short to int, shift left 16,
 * reinterpret. f16: the Vector API of JDK 25 has no half-float conversion, so the bits are
 * rebuilt with mask-free integer ops (a masked blend measured several times slower): {@code |h| << 13} reinterpreted as a float and multiplied by
 * 2^112 re-biases the exponent (15 to 127) and turns f16 subnormals into the right float
 * exactly; the sign is or-ed back in, and exponent 31 (inf/NaN, detected as
 * {@code (|h| + 0x400) >> 15 == 1}) is forced to 255 with its mantissa kept. A test checks all 65,536 f16 bit patterns against {@link Float#float16ToFloat}.
 */
final class HalfPrecisionVectors {

    /** The F32 species every CPU GEMM kernel uses. */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    /** Shorts with as many lanes as {@link #F}. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));

    private static final ValueLayout.OfShort SHORT = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private HalfPrecisionVectors() {
    }

    /** {@code F.length()} bf16 values at {@code byteOffset}, widened to floats. */
    static FloatVector loadBf16(MemorySegment segment, long byteOffset) {
        IntVector wide = (IntVector) ShortVector.fromMemorySegment(S, segment, byteOffset, LE)
                .convertShape(VectorOperators.S2I, I, 0);
        return wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** {@code F.length()} f16 values at {@code byteOffset}, widened to floats. */
    static FloatVector loadF16(MemorySegment segment, long byteOffset) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(S, segment, byteOffset, LE)
                .convertShape(VectorOperators.S2I, I, 0);
        IntVector magnitude = h.and(0x7FFF);
        IntVector infNan = magnitude.add(0x0400).lanewise(VectorOperators.LSHR, 15).neg().and(0x7F800000);
        return magnitude.lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats()
                .mul(0x1p112f).reinterpretAsInts()
                .or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16))
                .or(infNan)
                .reinterpretAsFloats();
    }

    /**
     * The f16 values in the high 16 bits of each lane of {@code pairs}, widened to floats (the low
     * bits are ignored): the same reconstruction as {@link #loadF16}, with the fields 16 bits up.
     */
    static FloatVector f16High(IntVector pairs) {
        IntVector magnitude = pairs.and(0x7FFF0000);
        IntVector infNan = magnitude.add(0x04000000).lanewise(VectorOperators.ASHR, 31).and(0x7F800000);
        return magnitude.lanewise(VectorOperators.LSHR, 3).reinterpretAsFloats()
                .mul(0x1p112f).reinterpretAsInts()
                .or(pairs.and(0x80000000))
                .or(infNan)
                .reinterpretAsFloats();
    }

    /**
     * Converts {@code count} elements of {@code dtype} (F32, BF16 or F16) at {@code srcOffset}
     * into floats at {@code dstOffset} of {@code dst}.
     */
    static void convertRow(DType dtype, MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset,
                           int count) {
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, srcOffset, dst, dstOffset, (long) count * Float.BYTES);
            case BF16 -> convertBf16Row(src, srcOffset, dst, dstOffset, count);
            case F16 -> convertF16Row(src, srcOffset, dst, dstOffset, count);
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
    }

    /**
     * Converts {@code count} elements of {@code dtype} (F32, BF16 or F16) at {@code srcOffset}
     * into {@code dst[dstOffset, dstOffset + count)}.
     */
    static void convertRow(DType dtype, MemorySegment src, long srcOffset, float[] dst, int dstOffset, int count) {
        int bound = F.loopBound(count);
        int i = 0;
        switch (dtype) {
            case F32 -> MemorySegment.copy(src, FLOAT, srcOffset, dst, dstOffset, count);
            case BF16 -> {
                for (; i < bound; i += F.length()) {
                    loadBf16(src, srcOffset + 2L * i).intoArray(dst, dstOffset + i);
                }
                for (; i < count; i++) {
                    dst[dstOffset + i] = DType.bf16ToFloat(src.get(SHORT, srcOffset + 2L * i));
                }
            }
            case F16 -> {
                for (; i < bound; i += F.length()) {
                    loadF16(src, srcOffset + 2L * i).intoArray(dst, dstOffset + i);
                }
                for (; i < count; i++) {
                    dst[dstOffset + i] = Float.float16ToFloat(src.get(SHORT, srcOffset + 2L * i));
                }
            }
            default -> throw new IllegalArgumentException("not a float dtype: " + dtype);
        }
    }

    private static void convertBf16Row(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset,
                                       int count) {
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += F.length()) {
            loadBf16(src, srcOffset + 2L * i).reinterpretAsInts().intoMemorySegment(dst, dstOffset + 4L * i, LE);
        }
        for (; i < count; i++) {
            dst.set(FLOAT, dstOffset + 4L * i, DType.bf16ToFloat(src.get(SHORT, srcOffset + 2L * i)));
        }
    }

    private static void convertF16Row(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset,
                                      int count) {
        int bound = F.loopBound(count);
        int i = 0;
        for (; i < bound; i += F.length()) {
            loadF16(src, srcOffset + 2L * i).reinterpretAsInts().intoMemorySegment(dst, dstOffset + 4L * i, LE);
        }
        for (; i < count; i++) {
            dst.set(FLOAT, dstOffset + 4L * i, Float.float16ToFloat(src.get(SHORT, srcOffset + 2L * i)));
        }
    }
}
