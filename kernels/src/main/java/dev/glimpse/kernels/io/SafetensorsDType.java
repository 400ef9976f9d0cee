package dev.glimpse.kernels.io;

import dev.glimpse.kernels.DType;

import java.util.Optional;

/**
 * Every element type the safetensors format defines ({@code Dtype} in the {@code safetensors} Rust
 * crate), with its width in bits, and the {@link DType} it loads as where Glimpse has one.
 */
public enum SafetensorsDType {
    BOOL(8, DType.BOOL), F4(4, null), F6_E2M3(6, null), F6_E3M2(6, null), U8(8, DType.U8), I8(8, null),
    F8_E5M2(8, null), F8_E4M3(8, null), F8_E8M0(8, null), I16(16, null), U16(16, null), F16(16, DType.F16),
    BF16(16, DType.BF16), I32(32, DType.I32), U32(32, null), F32(32, DType.F32), C64(64, null),
    F64(64, null), I64(64, DType.I64), U64(64, null);

    private final int bits;
    private final DType loadsAs;

    SafetensorsDType(int bits, DType loadsAs) {
        this.bits = bits;
        this.loadsAs = loadsAs;
    }

    public int bits() {
        return bits;
    }

    /** The tensor dtype this loads as; empty for types Glimpse lists but cannot load (F64, I8, ...). */
    public Optional<DType> loadsAs() {
        return Optional.ofNullable(loadsAs);
    }

    /** The safetensors name of {@code dtype} (they share spellings). */
    public static SafetensorsDType of(DType dtype) {
        return valueOf(dtype.name());
    }

    /** The constant spelled {@code name} exactly, or empty. */
    public static Optional<SafetensorsDType> parse(String name) {
        for (SafetensorsDType t : values()) {
            if (t.name().equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }
}
