package dev.glimpse.vlmruntime.text;

import com.fasterxml.jackson.databind.JsonNode;
import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.kernels.io.HfJson;
import jinjava.javax.el.CompositeELResolver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * A Hugging Face chat template rendered with Jinjava configured to behave like the Jinja2
 * environment of transformers' {@code render_jinja_template} ({@code utils/chat_template_utils.py}):
 * {@code trim_blocks} and {@code lstrip_blocks} on (as transformers sets them), Python-style
 * operators, map iteration and whitespace control, values printed as Python's {@code str} and
 * transformers' {@code tojson} ({@code json.dumps} spacing, see {@link PythonOutput}), Python
 * {@code str} methods ({@link PythonStringMethods}), the {@code raise_exception(message)} helper and
 * the {@code {% generation %}} tag. Variables: {@code messages}, {@code add_generation_prompt},
 * {@code tools} and {@code documents} (None unless given), the special tokens
 * ({@code bos_token}, {@code eos_token}, {@code pad_token}, {@code unk_token}) and any extras the
 * caller passes. An empty conversation is refused, as {@code apply_chat_template} refuses it.
 *
 * <p>Where the template comes from, in transformers' order of precedence for processors:
 * {@code chat_template.jinja} (transformers 5 saves it there), {@code chat_template.json}
 * ({@code "chat_template"} key), then {@code tokenizer_config.json}'s {@code chat_template}, a
 * string or a list of {@code {name, template}} (the one named {@code default} unless asked).
 */
public final class ChatTemplate {

    private static final Jinjava JINJAVA = jinjava();

    private final String source;
    private final String origin;
    private final Map<String, String> specialTokens;

    private ChatTemplate(String source, String origin, Map<String, String> specialTokens) {
        this.source = source;
        this.origin = origin;
        this.specialTokens = Map.copyOf(specialTokens);
    }

    /** A template from its text; {@code specialTokens} maps e.g. {@code bos_token} to {@code <s>}. */
    public static ChatTemplate of(String source, Map<String, String> specialTokens) {
        return new ChatTemplate(source, "inline template", specialTokens);
    }

    /** The default template of the checkpoint in {@code folder}. */
    public static ChatTemplate load(Path folder) {
        return load(folder, "default");
    }

    /** The template named {@code name} of the checkpoint in {@code folder}. */
    public static ChatTemplate load(Path folder, String name) {
        Path configFile = folder.resolve("tokenizer_config.json");
        Optional<HfJson> config = Files.isRegularFile(configFile) ? Optional.of(read(configFile)) : Optional.empty();
        Map<String, String> special = new HashMap<>();
        config.ifPresent(c -> {
            for (String key : List.of("bos_token", "eos_token", "pad_token", "unk_token")) {
                Tokenizer.named(c, key).ifPresent(v -> special.put(key, v));
            }
        });
        Path jinja = folder.resolve("chat_template.jinja");
        if (Files.isRegularFile(jinja)) {
            try {
                return new ChatTemplate(Files.readString(jinja), jinja.toString(), special);
            } catch (IOException e) {
                throw new TokenizerException(jinja + ": cannot read: " + e.getMessage(), e);
            }
        }
        Path json = folder.resolve("chat_template.json");
        if (Files.isRegularFile(json)) {
            return new ChatTemplate(select(read(json), name), json.toString(), special);
        }
        if (config.isPresent() && config.get().has("chat_template")) {
            return new ChatTemplate(select(config.get(), name), configFile.toString(), special);
        }
        throw new TokenizerException(folder + ": no chat template (looked for chat_template.jinja, chat_template.json"
                + " and 'chat_template' in tokenizer_config.json)");
    }

    public String source() {
        return source;
    }

    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        return render(messages, addGenerationPrompt, Map.of());
    }

    /** Renders {@code messages}; {@code extra} adds or overrides template variables. */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt, Map<String, Object> extra) {
        if (messages.isEmpty()) {
            throw new TokenizerException("Cannot apply chat template to an empty conversation. Provide at least one message.");
        }
        Map<String, Object> vars = new HashMap<>(specialTokens);
        vars.put("tools", null);
        vars.put("documents", null);
        vars.put("messages", messages.stream().map(ChatMessage::toTemplateValue).toList());
        vars.put("add_generation_prompt", addGenerationPrompt);
        vars.putAll(extra);
        RenderResult result = JINJAVA.renderForResult(source, vars);
        List<TemplateError> fatal = result.getErrors().stream()
                .filter(e -> e.getSeverity() == TemplateError.ErrorType.FATAL).toList();
        if (!fatal.isEmpty()) {
            throw new TokenizerException("chat template from " + origin + " failed: "
                    + fatal.stream().map(ChatTemplate::describe).collect(Collectors.joining("; ")));
        }
        return result.getOutput();
    }

    /** The error's own message, or that of a {@code raise_exception} call behind it. */
    private static String describe(TemplateError error) {
        for (Throwable t = error.getException(); t != null; t = t.getCause()) {
            if (t instanceof TokenizerException raised) {
                return raised.getMessage();
            }
        }
        return error.getMessage();
    }

    /** transformers' {@code raise_exception} helper. */
    public static String raiseException(String message) {
        throw new TokenizerException(message);
    }

    private static Jinjava jinjava() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PythonStringMethods());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withExecutionMode(new PythonOutput.Mode())
                .withElResolver(resolver)
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withEvaluateMapKeys(true)
                        .withIterateOverMapKeys(true)
                        .withUsePyishObjectMapper(true)
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withAllowAdjacentTextNodes(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withKeepNullableLoopValues(true)
                        .build())
                .build();
        Jinjava jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerTag(new GenerationTag());
        jinjava.getGlobalContext().registerFilter(new PythonOutput.ToJson());
        return jinjava;
    }

    private static String select(HfJson json, String name) {
        JsonNode t = json.raw("chat_template").orElseThrow(() -> json.error("chat_template", "is missing"));
        if (t.isTextual()) {
            return t.textValue();
        }
        if (t.isArray()) {
            for (JsonNode named : t) {
                if (name.equals(named.path("name").asText(null)) && named.path("template").isTextual()) {
                    return named.path("template").textValue();
                }
            }
            throw json.error("chat_template", "has no template named '" + name + "'");
        }
        throw json.error("chat_template", "should be a string or a list of {name, template}");
    }

    private static HfJson read(Path file) {
        try {
            return HfJson.read(file);
        } catch (ConfigException e) {
            throw new TokenizerException(e.getMessage(), e);
        }
    }
}
