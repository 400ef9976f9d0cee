"""Sums Nsight Compute's gpu__time_duration.sum per kernel name and grid from `ncu --csv` output
(other lines, e.g. the profiled program's JSON, are skipped). Prints the total, then the kernels by
time, then the order of the first kernels (to see where a stage starts and ends)."""
import collections
import csv
import sys

lines = open(sys.argv[1], errors="replace").read().splitlines()
start = next((i for i, line in enumerate(lines) if line.startswith('"ID"')), None)
if start is None:
    sys.exit("ncu_summary: no ncu CSV header in " + sys.argv[1])
rows = list(csv.reader(line for line in lines[start:] if line.startswith('"')))
head = rows[0]
name_i, grid_i, block_i, value_i = (head.index(k) for k in ("Kernel Name", "Grid Size", "Block Size", "Metric Value"))
by_kernel = collections.defaultdict(lambda: [0, 0.0])
order = []
for r in rows[1:]:
    try:
        ns = float(r[value_i].replace(",", ""))
    except ValueError:
        continue
    key = f"{r[name_i][:70]} grid{r[grid_i]} block{r[block_i]}"
    by_kernel[key][0] += 1
    by_kernel[key][1] += ns
    order.append((r[name_i][:40], ns))
total = sum(v[1] for v in by_kernel.values())
print(f"kernels {len(order)}  total {total / 1e6:.3f} ms")
for key, (calls, ns) in sorted(by_kernel.items(), key=lambda kv: -kv[1][1]):
    print(f"{ns / 1e3:11.1f} us {100 * ns / total:5.1f}% {calls:6d} calls {ns / calls / 1e3:9.2f} us/call  {key}")
print("first kernels:", ", ".join(f"{n}:{ns / 1e3:.1f}" for n, ns in order[:60]))
