"""HF transformers baseline for CudaDecoderBench: a Qwen2-0.5B-shaped Qwen2ForCausalLM (hidden 896,
24 layers, 14/2 heads, intermediate 4864, vocab 151936, tied embeddings) with random bf16 weights
on the GPU, sdpa attention. Prefill of --prompt tokens (default 600) and greedy decode of --steps
tokens (default 64) with the KV cache, one token per forward as generate() does, timed with
torch.cuda.synchronize(); best of --repeats after a warm-up. Prints one JSON line."""
import argparse
import json

import torch
import transformers
from transformers import Qwen2Config, Qwen2ForCausalLM

from hf_bench_common import prefill_and_decode


def measure(model, ids, steps):
    return prefill_and_decode(model, {"input_ids": ids}, steps, torch.cuda.synchronize)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--prompt", type=int, default=600)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    config = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                         num_key_value_heads=2, vocab_size=151936, max_position_embeddings=32768,
                         rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True, hidden_act="silu")
    config._attn_implementation = "sdpa"
    torch.manual_seed(7)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(config).to(torch.bfloat16).eval()
    ids = torch.randint(0, config.vocab_size, (1, a.prompt), device="cuda")
    with torch.inference_mode():
        measure(model, ids, 4)
        runs = [measure(model, ids, a.steps) for _ in range(a.repeats)]
    prefill = min(r[0] for r in runs)
    decode = min(r[1] for r in runs)
    print(json.dumps({"bench": "decoder_cuda", "impl": "hf", "device": torch.cuda.get_device_name(0),
                      "torch": torch.__version__, "transformers": transformers.__version__, "attn": "sdpa",
                      "model": "qwen2-0.5b-shape-bf16", "prompt_tokens": a.prompt,
                      "prefill_seconds": round(prefill, 4), "prefill_tokens_per_s": round(a.prompt / prefill, 1),
                      "decode_steps": a.steps, "decode_ms_per_token": round(decode * 1e3 / a.steps, 3),
                      "decode_tokens_per_s": round(a.steps / decode, 1), "last_token": runs[-1][2]}))


if __name__ == "__main__":
    main()
