"""Glimpse vs Hugging Face on a trained demo model: same input ids, last-position logits compared.

  /opt/glimpse-py/bin/python tools/train/check_parity.py --model models/glimpse-demo \
      --image examples/synth-scene-s20000002.png --question "What color is the star?"

The prompt is the chat template's rendering of one user turn [image, question] with the
generation prompt (what `glimpse ask` sends); HF tokenises it with the saved LlavaProcessor and
runs the saved weights twice: upcast to float32 (Glimpse computes in float32 over half weights)
and in the saved dtype. `glimpse logits --json` gets the same raw prompt. Prints both max abs
differences and whether the argmax tokens agree; exits 1 when the ids differ or the float32 gap
exceeds --tolerance.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from PIL import Image
from transformers import LlavaForConditionalGeneration, LlavaProcessor

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--question", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-2)
    args = ap.parse_args()

    proc = LlavaProcessor.from_pretrained(args.model)
    prompt = proc.tokenizer.apply_chat_template(
        [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": args.question}]}],
        add_generation_prompt=True, tokenize=False)
    inputs = proc(text=prompt, images=[Image.open(args.image).convert("RGB")], return_tensors="pt")
    hf = {}
    for name, dtype in (("float32", torch.float32), ("saved", None)):
        model = LlavaForConditionalGeneration.from_pretrained(args.model, dtype=dtype or "auto",
                                                              attn_implementation="eager").eval()
        feed = dict(inputs)
        feed["pixel_values"] = feed["pixel_values"].to(model.dtype)
        with torch.no_grad():
            hf[name] = (model(**feed).logits[0, -1].float(), str(model.dtype))

    env = dict(os.environ, JAVA_HOME=os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))
    out = subprocess.run([str(ROOT / "glimpse"), "logits", "--json", "--model", str(args.model), "--image",
                          str(args.image), "--prompt", prompt], check=True, capture_output=True, text=True, env=env)
    glimpse = json.loads(out.stdout[out.stdout.index("{"):])
    ids_equal = glimpse["input_ids"] == inputs["input_ids"][0].tolist()
    g = torch.tensor(glimpse["last_logits"], dtype=torch.float32)
    report = {"prompt": prompt, "input_ids_equal": ids_equal, "prompt_tokens": len(glimpse["input_ids"])}
    for name, (logits, dtype) in hf.items():
        report[f"max_abs_diff_vs_hf_{name}"] = {"hf_dtype": dtype, "diff": (g - logits).abs().max().item(),
                                                "argmax_equal": int(g.argmax()) == int(logits.argmax())}
    report["logit_range"] = [g.min().item(), g.max().item()]
    report["glimpse_top_token"] = proc.tokenizer.convert_ids_to_tokens(int(g.argmax()))
    print(json.dumps(report, indent=1))
    ok = ids_equal and report["max_abs_diff_vs_hf_float32"]["diff"] <= args.tolerance
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
