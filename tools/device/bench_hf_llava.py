"""HF transformers baseline for CudaLlavaBench, on a folder from make_random_llava.py: the model in
bf16 with sdpa attention on the GPU, processor-free (random pixel_values already on the GPU, input_ids
with the placeholder already expanded to the visual token count, tokenized with the folder's
tokenizer from the same prompt the Java bench uses). Every time is torch.cuda.synchronize()d, best of
--repeats after a warm-up pass.

  LLaVA (llava-1.5-7b shape): vision encode of one image (get_image_features: tower + projector);
      TTFT of the image prompt at the full 576 visual tokens (pixel_values on the GPU to the first
      token's id on the host: tower, projector, splice, prefill with logits_to_keep=1 as generate()
      does, argmax); then --steps greedy decode steps, one forward per token with the KV cache.
      HF has no visual-token pruning, so the baseline is the full budget only.
  LLaVA-OneVision (onevision-0.5b shape): the same for a --frames video (pixel_values_videos
      [1, frames, 3, 384, 384]; get_video_features: tower, projector, 2x2 pooling): vision encode,
      TTFT, decode.

Prints one JSON line per model (impl "hf").
"""
import argparse
import json
import math
import time

import torch
import transformers
from transformers import AutoConfig, AutoTokenizer, LlavaForConditionalGeneration, LlavaOnevisionForConditionalGeneration

from hf_bench_common import prefill_and_decode

LLAVA_PROMPT = "USER: <image>\nDescribe the picture. ASSISTANT:"
VIDEO_PROMPT = "<|im_start|>user <video>\nWhat happens in the video?<|im_end|>\n<|im_start|>assistant\n"


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"   # cpu only to check the script at tiny shapes


def sync():
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def synced(fn):
    sync()
    start = time.perf_counter()
    out = fn()
    sync()
    return time.perf_counter() - start, out


def generate(model, inputs, steps):
    """Seconds to the first token, seconds of `steps` decode steps, the last token."""
    return prefill_and_decode(model, {**inputs, "logits_to_keep": 1}, steps, sync)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--shape", required=True, help="label for the JSON line (llava-1.5-7b, onevision-0.5b)")
    p.add_argument("--frames", type=int, default=32)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    config = AutoConfig.from_pretrained(a.model)
    onevision = config.model_type == "llava_onevision"
    cls = LlavaOnevisionForConditionalGeneration if onevision else LlavaForConditionalGeneration
    t0 = time.perf_counter()
    model = cls.from_pretrained(a.model, dtype=torch.bfloat16, attn_implementation="sdpa").to(DEVICE).eval()
    load_s = time.perf_counter() - t0
    tok = AutoTokenizer.from_pretrained(a.model)
    vc = config.vision_config
    side = vc.image_size // vc.patch_size
    torch.manual_seed(7)
    if onevision:
        pooled = math.ceil(side / 2)
        visual = a.frames * pooled * pooled + 1
        ids = tok(VIDEO_PROMPT.replace("<video>", "<video>" * visual), return_tensors="pt").input_ids.to(DEVICE)
        pixels = torch.randn(1, a.frames, 3, vc.image_size, vc.image_size, dtype=torch.bfloat16, device=DEVICE)
        inputs = {"input_ids": ids, "pixel_values_videos": pixels}
        encode = lambda: model.model.get_video_features(pixel_values=pixels)  # noqa: E731
    else:
        visual = side * side
        ids = tok(LLAVA_PROMPT.replace("<image>", "<image>" * visual), return_tensors="pt").input_ids.to(DEVICE)
        pixels = torch.randn(1, 3, vc.image_size, vc.image_size, dtype=torch.bfloat16, device=DEVICE)
        inputs = {"input_ids": ids, "pixel_values": pixels}
        encode = lambda: model.model.get_image_features(pixel_values=pixels)  # noqa: E731
    with torch.inference_mode():
        synced(encode)
        vision = min(synced(encode)[0] for _ in range(a.repeats))
        generate(model, inputs, 4)
        runs = [generate(model, inputs, a.steps) for _ in range(a.repeats)]
    ttft = min(r[0] for r in runs)
    decode = min(r[1] for r in runs)
    weight_bytes = sum(t.numel() * t.element_size() for t in model.parameters())
    print(json.dumps({"bench": "llava_cuda", "impl": "hf", "model": a.shape, "device": torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu",
                      "torch": torch.__version__, "transformers": transformers.__version__, "attn": "sdpa",
                      "dtype": "bfloat16", "load_seconds": round(load_s, 2), "weight_bytes": weight_bytes,
                      "media": f"video {a.frames} frames" if onevision else "image",
                      "frames": a.frames if onevision else 1, "prompt_tokens": ids.shape[1], "visual_tokens": visual,
                      "vision_ms": round(vision * 1e3, 3), "ttft_ms": round(ttft * 1e3, 3),
                      "decode_steps": a.steps, "decode_ms_per_token": round(decode * 1e3 / a.steps, 3),
                      "decode_tokens_per_s": round(a.steps / decode, 1), "last_token": runs[-1][2],
                      "peak_memory_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if DEVICE == "cuda" else None}))


if __name__ == "__main__":
    main()
