package dev.glimpse.vlmruntime.text;

import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.expression.ExpressionStrategy;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import com.hubspot.jinjava.mode.ExecutionMode;
import com.hubspot.jinjava.tree.output.RenderedOutputNode;
import com.hubspot.jinjava.tree.parse.ExpressionToken;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Jinjava hooks that print values as Jinja2 does in transformers' environment: {@code {{ x }}} is
 * Python's {@code str(x)} ({@link PythonValues#str}) instead of Jinjava's Java/JSON-ish text, and
 * {@code tojson} is transformers' override ({@link PythonValues#json}), with its keyword options
 * {@code ensure_ascii}, {@code indent}, {@code separators} and {@code sort_keys}.
 *
 * <p>Jinjava resolves an undefined variable to null, where Jinja2 prints an undefined value as
 * the empty string and None as {@code None}: a null prints {@code None} only for the literal
 * {@code none}/{@code None} or a name bound to null, otherwise nothing.
 */
final class PythonOutput {

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    private PythonOutput() {
    }

    /** Puts {@link #expressions()} into every render's context. */
    static final class Mode implements ExecutionMode {
        @Override
        public void prepareContext(Context context) {
            context.setExpressionStrategy(expressions());
        }
    }

    static ExpressionStrategy expressions() {
        return (ExpressionStrategy & java.io.Serializable) (ExpressionToken token, JinjavaInterpreter interpreter) -> {
            Object value = interpreter.resolveELExpression(token.getExpr(), token.getLineNumber());
            if (value == null) {
                String expr = token.getExpr().trim();
                boolean none = expr.equals("none") || expr.equals("None")
                        || (NAME.matcher(expr).matches() && interpreter.getContext().containsKey(expr));
                return new RenderedOutputNode(none ? "None" : "");
            }
            return new RenderedOutputNode(PythonValues.str(value));
        };
    }

    /** transformers' {@code tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False)}. */
    static final class ToJson implements AdvancedFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object ensureAscii = arg(args, kwargs, 0, "ensure_ascii");
            Object indent = arg(args, kwargs, 1, "indent");
            Object separators = arg(args, kwargs, 2, "separators");
            Object sortKeys = arg(args, kwargs, 3, "sort_keys");
            String indentText = indent == null ? null
                    : indent instanceof Number n ? " ".repeat(n.intValue()) : String.valueOf(indent);
            String item = indentText == null ? ", " : ",";
            String key = ": ";
            if (separators != null) {
                List<?> pair = separators instanceof Collection<?> c ? List.copyOf(c)
                        : separators instanceof Object[] a ? List.of(a) : List.of();
                if (pair.size() != 2) {
                    throw new TokenizerException("tojson: separators should be an (item_separator, key_separator) pair");
                }
                item = String.valueOf(pair.get(0));
                key = String.valueOf(pair.get(1));
            }
            return PythonValues.json(var, truthy(ensureAscii), indentText, item, key, truthy(sortKeys));
        }

        private static Object arg(Object[] args, Map<String, Object> kwargs, int position, String name) {
            if (kwargs != null && kwargs.containsKey(name)) {
                return kwargs.get(name);
            }
            return args != null && args.length > position ? args[position] : null;
        }

        private static boolean truthy(Object v) {
            return v instanceof Boolean b ? b : v != null && !"false".equalsIgnoreCase(String.valueOf(v));
        }
    }
}
