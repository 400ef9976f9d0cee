package dev.glimpse.vlmruntime.text;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * Template values printed as Python prints them, so a rendered chat template equals Jinja2's:
 * {@link #str} is {@code str(x)} ({@code {{ x }}}: {@code True}, {@code None}, {@code [1, 'a']},
 * {@code {'k': 'v'}}), and {@link #json} is transformers' {@code tojson} filter, i.e.
 * {@code json.dumps(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)} with
 * Python's default separators {@code ", "} and {@code ": "} (or {@code ","} and {@code ": "} with
 * an indent), insertion-ordered keys and Python's float repr.
 */
final class PythonValues {

    private PythonValues() {
    }

    /** Python's {@code str(value)}. */
    static String str(Object value) {
        return value instanceof CharSequence s ? s.toString() : repr(value);
    }

    /** Python's {@code repr(value)} for the values templates see. */
    static String repr(Object value) {
        if (value == null) {
            return "None";
        }
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value instanceof CharSequence s) {
            return stringRepr(s.toString());
        }
        if (value instanceof Number n) {
            return number(n);
        }
        if (value instanceof Map<?, ?> m) {
            List<String> items = new ArrayList<>();
            m.forEach((k, v) -> items.add(repr(k) + ": " + repr(v)));
            return "{" + String.join(", ", items) + "}";
        }
        if (value instanceof Collection<?> c) {
            List<String> items = new ArrayList<>();
            c.forEach(v -> items.add(repr(v)));
            return "[" + String.join(", ", items) + "]";
        }
        if (value instanceof Object[] a) {
            return repr(List.of(a));
        }
        return value.toString();
    }

    private static String stringRepr(String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder().append(quote);
        s.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                b.append('\\').appendCodePoint(c);
            } else if (c == '\n') {
                b.append("\\n");
            } else if (c == '\r') {
                b.append("\\r");
            } else if (c == '\t') {
                b.append("\\t");
            } else if (!printable(c)) {
                b.append(c < 0x100 ? String.format("\\x%02x", c) : c < 0x10000 ? String.format("\\u%04x", c)
                        : String.format("\\U%08x", c));
            } else {
                b.appendCodePoint(c);
            }
        });
        return b.append(quote).toString();
    }

    /** Python's {@code str.isprintable} for one code point. */
    private static boolean printable(int c) {
        if (c == ' ') {
            return true;
        }
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                 Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    private static String number(Number n) {
        if (n instanceof Double || n instanceof Float || n instanceof BigDecimal) {
            return floatRepr(n.doubleValue());
        }
        return n.toString();
    }

    /** Python's {@code repr(float)}: shortest round-trip digits, exponent form below 1e-4 and from 1e16. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(d)).stripTrailingZeros();
        int exponent = bd.precision() - bd.scale() - 1;
        if (exponent >= -4 && exponent < 16) {
            String plain = bd.toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String digits = bd.unscaledValue().abs().toString();
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return (d < 0 ? "-" : "") + mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format("%02d", Math.abs(exponent));
    }

    /** {@code json.dumps(value, ensure_ascii=..., indent=..., separators=..., sort_keys=...)}. */
    static String json(Object value, boolean ensureAscii, String indent, String itemSeparator, String keySeparator,
                       boolean sortKeys) {
        StringBuilder b = new StringBuilder();
        new JsonWriter(ensureAscii, indent, itemSeparator, keySeparator, sortKeys, b).write(value, 0);
        return b.toString();
    }

    private record JsonWriter(boolean ensureAscii, String indent, String itemSeparator, String keySeparator,
                              boolean sortKeys, StringBuilder out) {

        void write(Object value, int depth) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Boolean bool) {
                out.append(bool ? "true" : "false");
            } else if (value instanceof CharSequence s) {
                string(s.toString());
            } else if (value instanceof Number n) {
                if (n instanceof Double || n instanceof Float || n instanceof BigDecimal) {
                    double d = n.doubleValue();
                    out.append(Double.isNaN(d) ? "NaN" : Double.isInfinite(d) ? (d > 0 ? "Infinity" : "-Infinity") : floatRepr(d));
                } else {
                    out.append(n);
                }
            } else if (value instanceof Map<?, ?> m) {
                List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
                if (sortKeys) {
                    entries.sort((x, y) -> key(x.getKey()).compareTo(key(y.getKey())));
                }
                open('{', entries.isEmpty(), depth);
                for (int i = 0; i < entries.size(); i++) {
                    separate(i, depth + 1);
                    string(key(entries.get(i).getKey()));
                    out.append(keySeparator);
                    write(entries.get(i).getValue(), depth + 1);
                }
                close('}', entries.isEmpty(), depth);
            } else if (value instanceof Collection<?> || value instanceof Object[]) {
                List<?> items = value instanceof Object[] a ? List.of(a) : new ArrayList<>((Collection<?>) value);
                open('[', items.isEmpty(), depth);
                for (int i = 0; i < items.size(); i++) {
                    separate(i, depth + 1);
                    write(items.get(i), depth + 1);
                }
                close(']', items.isEmpty(), depth);
            } else {
                throw new TokenizerException("Object of type " + value.getClass().getSimpleName() + " is not JSON serializable");
            }
        }

        /** A key as json.dumps converts it: str as is, True/False/None as true/false/null, numbers as their repr. */
        private static String key(Object k) {
            if (k == null) {
                return "null";
            }
            if (k instanceof Boolean b) {
                return b ? "true" : "false";
            }
            return k instanceof CharSequence s ? s.toString() : number((Number) k);
        }

        private void open(char c, boolean empty, int depth) {
            out.append(c);
        }

        private void separate(int i, int depth) {
            if (i > 0) {
                out.append(itemSeparator);
            }
            if (indent != null) {
                out.append('\n').append(indent.repeat(depth));
            }
        }

        private void close(char c, boolean empty, int depth) {
            if (indent != null && !empty) {
                out.append('\n').append(indent.repeat(depth));
            }
            out.append(c);
        }

        private void string(String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        if (c < 0x20 || (ensureAscii && c > 0x7e)) {
                            out.append(String.format("\\u%04x", (int) c));
                        } else {
                            out.append(c);
                        }
                    }
                }
            }
            out.append('"');
        }
    }
}
