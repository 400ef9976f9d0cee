"""Glimpse vs Hugging Face on a trained demo model: same input ids, last-position logits compared.

  /opt/glimpse-py/bin/python tools/train/check_parity.py --model models/glimpse-demo \
      --image examples/synth-scene-s20000002.png --question "What color is the star?"

The reference (tools/fixtures/hf_logits.py) is HF's logits for the chat template's rendering of one
user turn [image, question] with the generation prompt, from the saved weights upcast to float32 and
in the saved dtype; `glimpse logits --json` gets the same raw prompt. Prints both max abs
differences and whether the argmax tokens agree; exits 1 when the ids differ or the float32 gap
exceeds --tolerance.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools" / "fixtures"))
from hf_logits import compare, hf_reference  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--image", type=Path, required=True)
    ap.add_argument("--question", required=True)
    ap.add_argument("--tolerance", type=float, default=1e-2)
    args = ap.parse_args()

    ref = hf_reference(args.model, args.image, args.question)
    env = dict(os.environ, JAVA_HOME=os.environ.get("JAVA_HOME", "/usr/lib/jvm/temurin-25-jdk-amd64"))
    out = subprocess.run([str(ROOT / "glimpse"), "logits", "--json", "--model", str(args.model), "--image",
                          str(args.image), "--prompt", ref.prompt], check=True, capture_output=True, text=True, env=env)
    glimpse = json.loads(out.stdout[out.stdout.index("{"):])
    report = {"prompt": ref.prompt, "prompt_tokens": len(glimpse["input_ids"]), **compare(glimpse, ref)}
    report["glimpse_top_token"] = ref.tokenizer.convert_ids_to_tokens(report["argmax"])
    print(json.dumps(report, indent=1))
    ok = report["input_ids_equal"] and report["max_abs_diff_vs_hf_f32"] <= args.tolerance
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
