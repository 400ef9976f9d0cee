"""Summary of a gpu-test.sh run: JUnit counts, PARITY lines (max errors per op), the top-k
table glimpse vs torch (ratio = glimpse time / torch time; below 1 means Glimpse is faster), the
model GPU tests (GPU-PARITY lines: greedy tokens and logits diffs per fixture case) and the decoder
benchmark glimpse vs HF transformers (ratio = glimpse tokens/s / HF tokens/s; above 1: Glimpse
faster)."""
import json
import re
import sys


def main(test_log, glimpse_json, torch_json, model_log=None, decoder_json=None):
    log = open(test_log, errors="replace").read()
    print("== JUnit")
    for line in log.splitlines():
        if re.search(r"tests (successful|failed|aborted|skipped|found)", line):
            print(line.strip())
    print("== Parity (max normalised error per check)")
    for line in log.splitlines():
        if line.startswith("PARITY") and "topK" not in line:
            print(line)
    exact = sum(1 for line in log.splitlines() if line.startswith("PARITY topK"))
    print(f"topK: {exact} exact comparisons (indices and values identical)")
    rows = {}
    for path in (glimpse_json, torch_json):
        for line in open(path, errors="replace"):
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                rows.setdefault((r["n"], r["batch"], r["k"], r["order"]), {})[r["impl"]] = r["us_per_call"]
    print("== top-k: us per call, glimpse vs torch.topk (ratio < 1: glimpse faster)")
    print(f"{'n':>6} {'batch':>5} {'k':>5} {'order':>8} {'glimpse':>9} {'torch':>9} {'ratio':>6}")
    for (n, b, k, order), v in sorted(rows.items()):
        g, t = v.get("glimpse"), v.get("torch")
        ratio = f"{g / t:.2f}" if g and t else "-"
        print(f"{n:>6} {b:>5} {k:>5} {order:>8} {g if g else '-':>9} {t if t else '-':>9} {ratio:>6}")


    if model_log:
        models(model_log)
    if decoder_json:
        decoder(decoder_json)


def models(path):
    log = open(path, errors="replace").read()
    print("== Model GPU tests")
    for line in log.splitlines():
        if re.search(r"tests (successful|failed|aborted|skipped|found)", line):
            print(line.strip())
    for line in log.splitlines():
        if line.startswith("GPU-PARITY"):
            print(line[:400])


def decoder(path):
    rows = {}
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            rows[r["impl"]] = r
    print("== Decoder benchmark (ratio = glimpse / hf tokens per second)")
    for impl, r in sorted(rows.items()):
        print(f"{impl:>8}: prefill {r['prefill_tokens_per_s']} tok/s ({r['prompt_tokens']} tokens), "
              f"decode {r['decode_tokens_per_s']} tok/s ({r['decode_ms_per_token']} ms/token) on {r['device']}")
    g, h = rows.get("glimpse"), rows.get("hf")
    if g and h:
        print(f"   ratio: prefill {g['prefill_tokens_per_s'] / h['prefill_tokens_per_s']:.2f}x, "
              f"decode {g['decode_tokens_per_s'] / h['decode_tokens_per_s']:.2f}x; glimpse decode at "
              f"{g['decode_fraction_of_roofline']:.0%} of the HBM roofline")


if __name__ == "__main__":
    main(*sys.argv[1:6])
