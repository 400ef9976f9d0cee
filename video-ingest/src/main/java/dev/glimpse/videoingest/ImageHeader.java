package dev.glimpse.videoingest;

/**
 * Format and dimensions read from the first bytes of an image, so that size limits are enforced
 * before any native decoder allocates pixels.
 *
 * @param format {@code jpeg}, {@code png}, {@code gif}, {@code bmp} or {@code webp}
 */
record ImageHeader(String format, long width, long height) {

    /**
     * Parses the header.
     *
     * @throws UnsupportedMediaException when the bytes are not one of the five formats
     * @throws CorruptMediaException     when the header is cut short or malformed
     */
    static ImageHeader parse(String name, byte[] b) {
        if (b.length == 0) {
            throw new CorruptMediaException(name + ": the file is empty");
        }
        try {
            if (startsWith(b, 0, 0x89, 'P', 'N', 'G')) {
                expect(name, "png", startsWith(b, 12, 'I', 'H', 'D', 'R'));
                return checked(name, new ImageHeader("png", u32be(b, 16), u32be(b, 20)));
            }
            if (startsWith(b, 0, 'G', 'I', 'F', '8')) {
                return checked(name, new ImageHeader("gif", u16le(b, 6), u16le(b, 8)));
            }
            if (startsWith(b, 0, 'B', 'M')) {
                long dib = u32le(b, 14);
                return dib == 12
                        ? checked(name, new ImageHeader("bmp", u16le(b, 18), u16le(b, 20)))
                        : checked(name, new ImageHeader("bmp", Math.abs((long) (int) u32le(b, 18)), Math.abs((long) (int) u32le(b, 22))));
            }
            if (startsWith(b, 0, 'R', 'I', 'F', 'F') && startsWith(b, 8, 'W', 'E', 'B', 'P')) {
                return checked(name, webp(name, b));
            }
            if (startsWith(b, 0, 0xFF, 0xD8, 0xFF)) {
                return checked(name, jpeg(name, b));
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new CorruptMediaException(name + ": the image header is truncated");
        }
        throw new UnsupportedMediaException(name + ": not a jpg, png, webp, bmp or gif image");
    }

    private static ImageHeader webp(String name, byte[] b) {
        if (startsWith(b, 12, 'V', 'P', '8', ' ')) {
            return new ImageHeader("webp", u16le(b, 26) & 0x3FFF, u16le(b, 28) & 0x3FFF);
        }
        if (startsWith(b, 12, 'V', 'P', '8', 'L')) {
            int b0 = b[21] & 0xFF;
            int b1 = b[22] & 0xFF;
            int b2 = b[23] & 0xFF;
            int b3 = b[24] & 0xFF;
            return new ImageHeader("webp", 1 + (((b1 & 0x3F) << 8) | b0),
                    1 + (((b3 & 0x0F) << 10) | (b2 << 2) | ((b1 & 0xC0) >> 6)));
        }
        expect(name, "webp", startsWith(b, 12, 'V', 'P', '8', 'X'));
        return new ImageHeader("webp", 1 + u24le(b, 24), 1 + u24le(b, 27));
    }

    private static ImageHeader jpeg(String name, byte[] b) {
        int pos = 2;
        while (true) {
            expect(name, "jpeg", (b[pos] & 0xFF) == 0xFF);
            int marker = b[pos + 1] & 0xFF;
            if (marker == 0xFF) {
                pos++;
                continue;
            }
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                return new ImageHeader("jpeg", u16be(b, pos + 7), u16be(b, pos + 5));
            }
            if (marker == 0xD9 || marker == 0xDA) {
                throw new CorruptMediaException(name + ": the jpeg has no frame header");
            }
            if ((marker >= 0xD0 && marker <= 0xD7) || marker == 0x01) {
                pos += 2;
            } else {
                pos += 2 + u16be(b, pos + 2);
            }
        }
    }

    private static ImageHeader checked(String name, ImageHeader h) {
        if (h.width <= 0 || h.height <= 0) {
            throw new CorruptMediaException(name + ": the " + h.format + " header gives no image size");
        }
        return h;
    }

    private static void expect(String name, String format, boolean ok) {
        if (!ok) {
            throw new CorruptMediaException(name + ": malformed " + format + " header");
        }
    }

    private static boolean startsWith(byte[] b, int at, int... values) {
        if (b.length < at + values.length) {
            return false;
        }
        for (int i = 0; i < values.length; i++) {
            if ((b[at + i] & 0xFF) != values[i]) {
                return false;
            }
        }
        return true;
    }

    private static long u32be(byte[] b, int at) {
        return ((long) (b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private static long u32le(byte[] b, int at) {
        return ((long) (b[at + 3] & 0xFF) << 24) | ((b[at + 2] & 0xFF) << 16) | ((b[at + 1] & 0xFF) << 8) | (b[at] & 0xFF);
    }

    private static int u24le(byte[] b, int at) {
        return ((b[at + 2] & 0xFF) << 16) | ((b[at + 1] & 0xFF) << 8) | (b[at] & 0xFF);
    }

    private static int u16be(byte[] b, int at) {
        return ((b[at] & 0xFF) << 8) | (b[at + 1] & 0xFF);
    }

    private static int u16le(byte[] b, int at) {
        return ((b[at + 1] & 0xFF) << 8) | (b[at] & 0xFF);
    }
}
