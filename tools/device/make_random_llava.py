"""Builds a random-weight Hugging Face LLaVA checkpoint folder of a real model's shape, for the
side-by-side benchmark (tools/device/bench_hf_llava.py vs CudaLlavaBench). Run on the GPU machine:

    python3 tools/device/make_random_llava.py --shape llava-1.5-7b --out /tmp/llava-1.5-7b
    python3 tools/device/make_random_llava.py --shape onevision-0.5b --out /tmp/onevision-0.5b

Shapes:
  llava-1.5-7b     LlavaForConditionalGeneration: CLIP ViT-L/14-336 (hidden 1024, 24 layers, 16 heads,
                   MLP 4096, quick_gelu, feature layer -2, CLS dropped: 576 tokens/image), mlp2x_gelu
                   projector 1024 -> 4096 -> 4096, Llama-7B (hidden 4096, 32 layers, 32 heads, MLP 11008,
                   vocab 32000, rope 1e4, untied).
  onevision-0.5b   LlavaOnevisionForConditionalGeneration: SigLIP so400m/14-384 (hidden 1152, 27 layers,
                   16 heads, MLP 4304, no pooling head, 729 tokens/frame), projector 1152 -> 896 -> 896,
                   Qwen2-0.5B (hidden 896, 24 layers, 14 heads, 2 KV heads, MLP 4864, vocab 151936,
                   rope 1e6, tied), image_newline, anyres_max_9 over the 384-step pinpoints up to 2304.
  tiny-llava, tiny-onevision: the same families at toy sizes, to check the scripts on a CPU.

Weights: every parameter torch.randn * 0.02 drawn on --device in bf16 (norm weights 1), saved with
save_pretrained in bf16. The timings are all that matters, not the values.

Tokenizer: the fixtures' small BPE tokenizers (tools/fixtures/fixture_tokenizers.py: Llama-style 760
pieces + <image>, Qwen2-style ~700 + chatml specials + <image> <video>), trained in a second; training
a real-size 32k / 152k vocabulary is not worth the time. config.json keeps the real vocab_size, so
the embedding and lm_head have the real shapes and cost; every id the tokenizer produces is below
its own size and so in range; generated ids above the tokenizer's size are fine for the benchmarks,
which never turn them back into text. The image/video token ids are the tokenizer's own.

Prints one JSON line: the shape, parameter count, bytes written and seconds to build and to save.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "fixtures"))

import chat_templates  # noqa: E402
import common  # noqa: E402
import fixture_tokenizers  # noqa: E402
from transformers import (  # noqa: E402
    CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration, LlavaOnevisionConfig,
    LlavaOnevisionForConditionalGeneration, LlavaOnevisionProcessor, LlavaProcessor, Qwen2Config,
    SiglipVisionConfig,
)
from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil  # noqa: E402
from transformers.models.llava_onevision.image_processing_pil_llava_onevision import (  # noqa: E402
    LlavaOnevisionImageProcessorPil,
)
from transformers.models.llava_onevision.video_processing_llava_onevision import (  # noqa: E402
    LlavaOnevisionVideoProcessor,
)

CLIP_MEAN, CLIP_STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
SIGLIP_MEAN, SIGLIP_STD = [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]

SHAPES = {
    "llava-1.5-7b": dict(family="llava", vision=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24,
                                                      num_attention_heads=16, image_size=336, patch_size=14),
                         text=dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                                   num_attention_heads=32, num_key_value_heads=32, vocab_size=32000)),
    "tiny-llava": dict(family="llava", vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                    num_attention_heads=4, image_size=56, patch_size=14),
                       text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=4, vocab_size=2000)),
    "onevision-0.5b": dict(family="onevision", vision=dict(hidden_size=1152, intermediate_size=4304,
                                                            num_hidden_layers=27, num_attention_heads=16,
                                                            image_size=384, patch_size=14),
                           text=dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                                     num_attention_heads=14, num_key_value_heads=2, vocab_size=151936)),
    "tiny-onevision": dict(family="onevision", vision=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                            num_attention_heads=4, image_size=56, patch_size=14),
                           text=dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, vocab_size=2000)),
}
NORM_KEYS = ("norm", "layrnorm", "layernorm", "ln_")


def llava(spec: dict):
    tok = fixture_tokenizers.llama_tokenizer(chat_templates.LLAVA_15)
    v, side = spec["vision"], spec["vision"]["image_size"] // spec["vision"]["patch_size"]
    vision = CLIPVisionConfig(hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=768, num_channels=3, **v)
    text = LlamaConfig(max_position_embeddings=4096, rms_norm_eps=1e-5, hidden_act="silu",
                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0}, tie_word_embeddings=False,
                       bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=None, **spec["text"])
    config = LlavaConfig(vision_config=vision, text_config=text, image_token_index=tok.convert_tokens_to_ids("<image>"),
                         image_seq_length=side * side, projector_hidden_act="gelu",
                         vision_feature_select_strategy="default", vision_feature_layer=-2,
                         multimodal_projector_bias=True, tie_word_embeddings=False)
    image_processor = CLIPImageProcessorPil(
        size={"shortest_edge": v["image_size"]}, crop_size={"height": v["image_size"], "width": v["image_size"]},
        image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3, do_center_crop=True)
    processor = LlavaProcessor(image_processor=image_processor, tokenizer=tok, patch_size=v["patch_size"],
                               vision_feature_select_strategy="default", num_additional_image_tokens=1,
                               chat_template=chat_templates.LLAVA_15)
    return LlavaForConditionalGeneration, config, processor, tok


def onevision(spec: dict):
    common.expose_video_processor_classes()
    tok = fixture_tokenizers.qwen2_tokenizer(chat_templates.LLAVA_ONEVISION)
    v, size = spec["vision"], spec["vision"]["image_size"]
    side = size // v["patch_size"]
    vision = SiglipVisionConfig(hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6, vision_use_head=False,
                                num_channels=3, **v)
    text = Qwen2Config(max_position_embeddings=32768, rms_norm_eps=1e-6, hidden_act="silu",
                       rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}, tie_word_embeddings=True,
                       use_sliding_window=False, bos_token_id=None, eos_token_id=tok.eos_token_id,
                       pad_token_id=tok.pad_token_id, **spec["text"])
    pinpoints = [[size * i, size * j] for i in range(1, 7) for j in range(1, 7)]
    config = LlavaOnevisionConfig(
        vision_config=vision, text_config=text, image_token_index=tok.convert_tokens_to_ids("<image>"),
        video_token_index=tok.convert_tokens_to_ids("<video>"), projector_hidden_act="gelu",
        vision_feature_select_strategy="full", vision_feature_layer=-1, multimodal_projector_bias=True,
        image_grid_pinpoints=pinpoints, vision_aspect_ratio="anyres_max_9", tie_word_embeddings=True)
    image_processor = LlavaOnevisionImageProcessorPil(size={"height": size, "width": size},
                                                      image_grid_pinpoints=pinpoints, resample=3,
                                                      image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD, do_pad=True)
    video_processor = LlavaOnevisionVideoProcessor(size={"height": size, "width": size}, resample=3,
                                                   image_mean=SIGLIP_MEAN, image_std=SIGLIP_STD)
    processor = LlavaOnevisionProcessor(image_processor=image_processor, tokenizer=tok,
                                        video_processor=video_processor, num_image_tokens=side * side,
                                        vision_feature_select_strategy="full", vision_aspect_ratio="anyres_max_9",
                                        chat_template=chat_templates.LLAVA_ONEVISION)
    return LlavaOnevisionForConditionalGeneration, config, processor, tok


def randomize(model: torch.nn.Module, seed: int) -> None:
    """randn * 0.02 for every parameter on its own device and dtype; norm weights 1 (tied weights once)."""
    gen = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            owner = name.rsplit(".", 1)[0].rsplit(".", 1)[-1]
            if p.dim() == 1 and name.endswith("weight") and any(k in owner for k in NORM_KEYS):
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen, device=p.device, dtype=p.dtype) * 0.02)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", choices=list(SHAPES), required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--seed", type=int, default=11)
    a = p.parse_args()
    common.quiet_transformers()
    spec = SHAPES[a.shape]
    start = time.perf_counter()
    cls, config, processor, tok = (llava if spec["family"] == "llava" else onevision)(spec)
    tokenizer_s = time.perf_counter() - start
    t0 = time.perf_counter()
    with torch.device(a.device):
        model = cls._from_config(config, dtype=torch.bfloat16, attn_implementation="sdpa")
    randomize(model, a.seed)
    model.generation_config.eos_token_id = tok.eos_token_id
    model.generation_config.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    model.generation_config.bos_token_id = tok.bos_token_id
    model.generation_config.do_sample = False
    if a.device.startswith("cuda"):
        torch.cuda.synchronize()
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    a.out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(a.out)
    processor.save_pretrained(a.out)
    save_s = time.perf_counter() - t1
    params = sum(t.numel() for t in model.parameters())
    written = sum(f.stat().st_size for f in a.out.glob("*.safetensors"))
    print(json.dumps({"bench": "make_random_llava", "shape": a.shape, "device": a.device,
                      "architecture": cls.__name__, "parameters": params, "safetensors_bytes": written,
                      "tokenizer_size": len(tok), "vocab_size": config.text_config.vocab_size,
                      "tokenizer_seconds": round(tokenizer_s, 2), "build_seconds": round(build_s, 2),
                      "save_seconds": round(save_s, 2), "out": str(a.out)}))


if __name__ == "__main__":
    main()
