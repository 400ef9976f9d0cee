package dev.glimpse.vlmruntime.text;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real templates (llava-hf/llava-1.5-7b-hf, llava-hf/llava-onevision-qwen2-0.5b-ov-hf, Qwen2
 * ChatML) rendered to the strings Jinja2 gives for them.
 */
class ChatTemplateTest {

    private static final ChatMessage USER_IMAGE = ChatMessage.parts("user", new ContentPart.Image(),
            new ContentPart.Text("What is shown in this image?"));

    @Test
    void llava15TemplateRendersRolesImagesAndGenerationPrompt() {
        ChatTemplate t = ChatTemplate.load(TokenizerTest.folder("llama-style"));
        assertEquals("USER: <image>\nWhat is shown in this image? ASSISTANT:", t.render(List.of(USER_IMAGE), true));
    }

    @Test
    void llava15TemplateRendersAssistantTurnsThroughTheGenerationTag() {
        ChatTemplate t = ChatTemplate.load(TokenizerTest.folder("llama-style"));
        String out = t.render(List.of(USER_IMAGE, ChatMessage.parts("assistant", new ContentPart.Text("A cat.")),
                ChatMessage.parts("user", new ContentPart.Text("Colour?"))), false);
        assertEquals("USER: <image>\nWhat is shown in this image? ASSISTANT: A cat. USER: Colour? ", out);
    }

    @Test
    void onevisionTemplateFromChatTemplateJson() {
        ChatTemplate t = ChatTemplate.load(TokenizerTest.folder("onevision"));
        assertEquals("<|im_start|>user <image>\nWhat is shown in this image?<|im_end|>\n<|im_start|>assistant\n",
                t.render(List.of(USER_IMAGE), true));
        assertEquals("<|im_start|>user <video>\nWhy?<|im_end|>\n",
                t.render(List.of(ChatMessage.parts("user", new ContentPart.Video(), new ContentPart.Text("Why?"))), false));
    }

    @Test
    void qwen2ChatmlAddsDefaultSystemPromptOnFirstTurn() {
        ChatTemplate t = ChatTemplate.load(TokenizerTest.folder("qwen2-style"));
        assertEquals("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n", t.render(List.of(ChatMessage.text("user", "Hi")), true));
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n",
                t.render(List.of(ChatMessage.text("system", "Be brief."), ChatMessage.text("user", "Hi")), false));
    }

    @Test
    void specialTokensAreTemplateVariables() {
        ChatTemplate t = ChatTemplate.of("{{ bos_token }}{% for m in messages %}{{ m.content }}{{ eos_token }}{% endfor %}",
                Map.of("bos_token", "<s>", "eos_token", "</s>"));
        assertEquals("<s>hi</s>", t.render(List.of(ChatMessage.text("user", "hi")), false));
    }

    @Test
    void pythonisms() {
        ChatTemplate t = ChatTemplate.of("{% set ns = namespace(n=0) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}"
                + "{% if m.content is string %}[{{ m.content.strip() }}|{{ m.content.lstrip() }}]{% endif %}"
                + "{% if loop.last %}{{ ns.n }}{{ m.role.startswith('us') }}{{ m.role.title() }}{% endif %}{% endfor %}"
                + "{{ ' a  b '.split() }}", Map.of());
        assertEquals("[x|x ]1TrueUser['a', 'b']", t.render(List.of(ChatMessage.text("user", " x ")), false));
    }

    @Test
    void raiseExceptionFailsTheRenderWithItsMessage() {
        ChatTemplate t = ChatTemplate.of("{% if messages[0]['role'] != 'user' %}{{ raise_exception('Conversation must start"
                + " with user') }}{% endif %}ok", Map.of());
        assertEquals("ok", t.render(List.of(ChatMessage.text("user", "x")), false));
        TokenizerException e = assertThrows(TokenizerException.class,
                () -> t.render(List.of(ChatMessage.text("assistant", "x")), false));
        assertTrue(e.getMessage().contains("Conversation must start with user"), e.getMessage());
    }

    @Test
    void blocksTrimmedAsTransformersJinja2EnvironmentDoes() {
        // transformers renders with trim_blocks=True, lstrip_blocks=True (checked against its render_jinja_template)
        ChatTemplate t = ChatTemplate.of("{% for m in messages %}\n  {{ m.role }}\n{% endfor %}\n{%- if true %} end{% endif %}",
                Map.of());
        assertEquals("  user\n end", t.render(List.of(ChatMessage.text("user", "x")), false));
    }
}
