"""Summary of a bench-llava.sh run: merges the machine facts, make_random_llava.py's lines and the
HF / Glimpse benchmark lines into one results object (stdout, JSON; bench/results/h200-llava-<date>.json
keeps it) and writes the human summary to stderr: per model, Glimpse vs HF (speedup = HF time /
Glimpse time, decode = Glimpse tok/s / HF tok/s), TTFT at each visual-token budget as a fraction of
the full budget, and issue 8's aims (TTFT no worse than HF at full budget; TTFT(64) <= 0.4x full;
decode >= 2x HF and >= 50% of the HBM roofline)."""
import json
import sys


def lines(path):
    out = []
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def in_process_ab(rows):
    """CudaLlavaBench --ab lines (llava_cuda_ab) as {model: {variant: {"vision_ms" or "<visual tokens>_tokens_<metric>":
    median of the per-round ratios variant/base}}}, base variants left out."""
    out = {}
    for r in rows:
        if r["bench"] != "llava_cuda_ab" or r["variant"] == r["base"]:
            continue
        key = r["metric"] if r["stage"] == "vision" else f"{r['visual_tokens']}_tokens_{r['metric']}"
        out.setdefault(r["model"], {}).setdefault(r["variant"], {})[key] = r["ratio_median"]
    return out


def main(machine_path, make_path, bench_path):
    machine = json.load(open(machine_path))
    rows = lines(bench_path)
    models = {}
    for r in rows:
        if r["bench"] == "llava_cuda":
            models.setdefault(r["model"], {})[r["impl"]] = r
        elif r["bench"] == "llava_cuda_run":
            models.setdefault(r["model"], {}).setdefault("glimpse_runs", []).append(r)
    ratios = {}
    log = sys.stderr
    print(f"== LLaVA model benchmark: {machine.get('gpu')} {machine.get('date')} commit {machine.get('commit')}", file=log)
    for name, m in models.items():
        g, h = m.get("glimpse"), m.get("hf")
        rat = {}
        if g:
            print(f"{name}: glimpse vision {g['vision_ms']} ms, TTFT {g['ttft_ms']} ms ({g['visual_tokens']} visual "
                  f"tokens, {g['prompt_tokens']} prompt), decode {g['decode_tokens_per_s']} tok/s "
                  f"({g['decode_fraction_of_roofline']:.1%} of roofline {g['roofline_tokens_per_s']} tok/s)", file=log)
            full = g["ttft_ms"]
            for tokens, ms in g["ttft_ms_by_visual_tokens"].items():
                rat[f"ttft_{tokens}_over_full"] = round(ms / full, 3)
                print(f"   TTFT at {tokens:>5} visual tokens: {ms:9.2f} ms = {ms / full:.2f}x of full", file=log)
            if "cold_ttft_ms" in g:
                print(f"   first request (cold JIT): vision {g['cold_vision_ms']} ms, TTFT {g['cold_ttft_ms']} ms; "
                      f"then {g['warmup_rounds']} warm-up rounds", file=log)
            rat["decode_fraction_of_roofline"] = g["decode_fraction_of_roofline"]
        if h:
            print(f"{name}: hf      vision {h['vision_ms']} ms, TTFT {h['ttft_ms']} ms, decode "
                  f"{h['decode_tokens_per_s']} tok/s", file=log)
        if g and h:
            rat["vision_speedup_vs_hf"] = round(h["vision_ms"] / g["vision_ms"], 3)
            rat["ttft_full_speedup_vs_hf"] = round(h["ttft_ms"] / g["ttft_ms"], 3)
            rat["decode_speedup_vs_hf"] = round(g["decode_tokens_per_s"] / h["decode_tokens_per_s"], 3)
            print(f"   vs HF: vision {rat['vision_speedup_vs_hf']}x, TTFT (full) {rat['ttft_full_speedup_vs_hf']}x, "
                  f"decode {rat['decode_speedup_vs_hf']}x (above 1: Glimpse faster)", file=log)
            aims = {"ttft_full_no_worse_than_hf": g["ttft_ms"] <= h["ttft_ms"],
                    "decode_at_least_2x_hf": rat["decode_speedup_vs_hf"] >= 2,
                    "decode_at_least_half_roofline": g["decode_fraction_of_roofline"] >= 0.5}
            low = [k for k in g["ttft_ms_by_visual_tokens"] if k == "64"]
            if low:
                aims["ttft_64_at_most_0.4_of_full"] = rat["ttft_64_over_full"] <= 0.4
            rat["aims_met"] = aims
            print(f"   aims: {aims}", file=log)
        ratios[name] = rat
    for name, ab in in_process_ab(rows).items():
        ratios.setdefault(name, {})["in_process_ab"] = ab
        for variant, by_key in ab.items():
            main = ", ".join(f"{k} {v}x" for k, v in by_key.items() if k.endswith(("vision_ms", "ttft_ms")))
            print(f"{name} in-process A/B {variant} vs base (median of per-round ratios): {main}", file=log)
    for r in rows:
        if r["bench"] == "llava_cuda_profile":
            print(f"{r['model']} profile (device waited on after every op, prefill chunk {r['prefill_chunk']}): "
                  f"visual {r['visual_ms']:.1f} ms, prefill {r['prefill_ms']:.1f} ms", file=log)
            for stage in ("visual_ops", "prefill_ops"):
                top = list(r[stage].items())[:8]
                print(f"   {stage}: " + ", ".join(f"{op} {c['ms']:.1f} ms/{c['calls']}" for op, c in top), file=log)
    print(json.dumps({"bench": "llava_cuda", "machine": machine, "checkpoints": lines(make_path),
                      "results": rows, "ratios": ratios}, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:4])
