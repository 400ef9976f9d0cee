"""torch.topk over the same shapes and loop as dev.glimpse.kernels.cuda.bench.TopKBench.

BY_VALUE is compared with torch.topk(sorted=True); BY_INDEX with torch.topk(sorted=False)
followed by sorting the indices (raster order) and gathering their values. One JSON object per
line on stdout.
"""
import json
import time

import torch

WARMUP = 50
ITERATIONS = 300


def by_value(x, k):
    return torch.topk(x, k, dim=1, largest=True, sorted=True)


def by_index(x, k):
    _, idx = torch.topk(x, k, dim=1, largest=True, sorted=False)
    idx, _ = torch.sort(idx, dim=1)
    return torch.gather(x, 1, idx), idx


def main():
    dev = torch.device("cuda")
    name = torch.cuda.get_device_name(0)
    for n in (576, 2304, 12544):
        for batch in (1, 16, 64):
            for k in (n // 4, 64):
                for order, fn in (("BY_VALUE", by_value), ("BY_INDEX", by_index)):
                    gen = torch.Generator(device="cpu").manual_seed(n * 1000 + batch)
                    x = torch.rand(batch, n, generator=gen).to(dev)
                    for _ in range(WARMUP):
                        fn(x, k)
                    torch.cuda.synchronize()
                    start = time.perf_counter()
                    for _ in range(ITERATIONS):
                        fn(x, k)
                    torch.cuda.synchronize()
                    us = (time.perf_counter() - start) * 1e6 / ITERATIONS
                    print(json.dumps({"bench": "topk", "impl": "torch", "device": name, "n": n, "batch": batch,
                                      "k": k, "order": order, "us_per_call": round(us, 2)}), flush=True)


if __name__ == "__main__":
    main()
