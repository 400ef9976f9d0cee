package dev.glimpse.kernels.cpu;

import dev.glimpse.kernels.DType;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised widening of half-precision weights used by the GEMM kernels. */
class GemmHalfPrecisionTest {

    private static final int ALL = 1 << 16;

    @Test
    void f16WideningIsExactForAllBitPatterns() {
        float[] got = widenAll(DType.F16);
        for (int h = 0; h < ALL; h++) {
            float expected = Float.float16ToFloat((short) h);
            if (Float.isNaN(expected)) {
                assertTrue(Float.isNaN(got[h]), "f16 NaN 0x" + Integer.toHexString(h) + " must stay NaN");
            } else {
                assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got[h]),
                        "f16 bits 0x" + Integer.toHexString(h));
            }
        }
    }

    @Test
    void pairedF16WideningOfTheHighHalfIsExactForAllBitPatterns() {
        VectorSpecies<Integer> species = HalfPrecisionVectors.I;
        int[] lanes = new int[species.length()];
        for (int base = 0; base < ALL; base += lanes.length) {
            for (int l = 0; l < lanes.length; l++) {
                lanes[l] = (base + l) << 16 | 0x5A5A;
            }
            float[] got = HalfPrecisionVectors.f16High(IntVector.fromArray(species, lanes, 0)).toArray();
            for (int l = 0; l < lanes.length; l++) {
                int h = base + l;
                float expected = Float.float16ToFloat((short) h);
                if (Float.isNaN(expected)) {
                    assertTrue(Float.isNaN(got[l]), "f16 NaN 0x" + Integer.toHexString(h) + " must stay NaN");
                } else {
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(got[l]),
                            "f16 bits 0x" + Integer.toHexString(h));
                }
            }
        }
    }

    @Test
    void bf16WideningIsExactForAllBitPatterns() {
        float[] got = widenAll(DType.BF16);
        for (int h = 0; h < ALL; h++) {
            assertEquals(Float.floatToRawIntBits(DType.bf16ToFloat((short) h)), Float.floatToRawIntBits(got[h]),
                    "bf16 bits 0x" + Integer.toHexString(h));
        }
    }

    /** Widens every 16-bit pattern, read from an odd byte address to exercise unaligned loads. */
    private static float[] widenAll(DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment src = arena.allocate(2L * ALL + 1).asSlice(1);
            for (int h = 0; h < ALL; h++) {
                src.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2L * h, (short) h);
            }
            MemorySegment dst = arena.allocate(4L * ALL);
            HalfPrecisionVectors.convertRow(dtype, src, 0, dst, 0, ALL);
            return dst.toArray(ValueLayout.JAVA_FLOAT);
        }
    }
}
