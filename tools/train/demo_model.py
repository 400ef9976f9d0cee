"""The demo model's parts as Hugging Face objects: configs, tokenizer, processor, saving.

Reuses the parity-fixture helpers (tools/fixtures): the LLaVA-1.5 chat template, the way a
`tokenizers` BPE is handed to LlamaTokenizerFast, and the JSON writer.
"""

import sys
from pathlib import Path

from tokenizers import AddedToken, Tokenizer, models, pre_tokenizers, trainers
from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlamaTokenizerFast, LlavaProcessor
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))
import chat_templates  # noqa: E402
import fixture_tokenizers  # noqa: E402

CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]


def vision_config(c: dict) -> CLIPVisionConfig:
    return CLIPVisionConfig(hidden_size=c["vit_hidden"], intermediate_size=4 * c["vit_hidden"],
                            num_hidden_layers=c["vit_layers"], num_attention_heads=c["vit_heads"],
                            image_size=c["image"], patch_size=c["patch"], num_channels=3, hidden_act="quick_gelu",
                            layer_norm_eps=1e-5, projection_dim=c["vit_hidden"])


def llava_config(c: dict, tok) -> LlavaConfig:
    text = LlamaConfig(
        vocab_size=len(tok), hidden_size=c["llm_hidden"], intermediate_size=c["llm_ffn"],
        num_hidden_layers=c["llm_layers"], num_attention_heads=c["llm_heads"], num_key_value_heads=c["llm_kv_heads"],
        max_position_embeddings=4096, rms_norm_eps=1e-5, hidden_act="silu",
        rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=None)
    patches = (c["image"] // c["patch"]) ** 2
    return LlavaConfig(
        vision_config=vision_config(c), text_config=text, image_token_index=tok.convert_tokens_to_ids("<image>"),
        image_seq_length=patches, projector_hidden_act="gelu", vision_feature_select_strategy="default",
        vision_feature_layer=-2, multimodal_projector_bias=True, tie_word_embeddings=False)


def train_tokenizer(lines: list[str], vocab_size: int) -> LlamaTokenizerFast:
    """A Llama-style BPE (Metaspace, byte fallback, <unk> <s> </s>, BOS added) trained on the
    benchmark's text, `<image>` added as a special token, the LLaVA-1.5 chat template attached:
    fixture_tokenizers.llama_tokenizer's construction over this corpus instead of the fixture one."""
    byte_pieces = [f"<0x{i:02X}>" for i in range(256)]
    trainer_tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    trainer_tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<unk>", "<s>", "</s>"] + byte_pieces,
                                  show_progress=False)
    trainer_tok.train_from_iterator(lines, trainer=trainer)
    vocab, merges = fixture_tokenizers._vocab_and_merges(trainer_tok)
    tok = LlamaTokenizerFast(vocab=vocab, merges=merges, legacy=False, add_bos_token=True, add_eos_token=False,
                             clean_up_tokenization_spaces=False)
    tok.add_tokens([AddedToken("<image>", special=True, normalized=False)], special_tokens=True)
    tok.chat_template = chat_templates.LLAVA_15
    return tok


def processor(c: dict, tok) -> LlavaProcessor:
    """CLIP preprocessing at the training resolution (224 in, 224 out: resize and crop are identities
    for the benchmark's images and frames; rescale 1/255 then CLIP mean/std, as training normalises)."""
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": c["image"]}, crop_size={"height": c["image"], "width": c["image"]},
        image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3, do_center_crop=True)
    return LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=c["patch"],
                          vision_feature_select_strategy="default", num_additional_image_tokens=1,
                          chat_template=chat_templates.LLAVA_15)


def prompt_text(tok, question: str, images: int) -> str:
    """The user turn as the Java runtime sends it: one image part per image/frame, then the question."""
    content = [{"type": "image"} for _ in range(images)] + [{"type": "text", "text": question}]
    return tok.apply_chat_template([{"role": "user", "content": content}], add_generation_prompt=True,
                                   tokenize=False)


def finish_generation_config(model, tok) -> None:
    gc = model.generation_config
    gc.bos_token_id = tok.bos_token_id
    gc.eos_token_id = tok.eos_token_id
    gc.pad_token_id = tok.eos_token_id
    gc.do_sample = False
    gc.max_new_tokens = 16
