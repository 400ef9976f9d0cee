"""Summary of a gpu-test.sh run: JUnit counts, PARITY lines (max errors per op) and the top-k
table glimpse vs torch (ratio = glimpse time / torch time; below 1 means Glimpse is faster)."""
import json
import re
import sys


def main(test_log, glimpse_json, torch_json):
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


if __name__ == "__main__":
    main(*sys.argv[1:4])
