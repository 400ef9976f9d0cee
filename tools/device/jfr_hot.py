"""Aggregates `jfr print --events jdk.ExecutionSample,jdk.NativeMethodSample` output (Java code and
threads inside native calls, e.g. JNI into the CUDA driver): for each sample, its top frame and its
first frame inside dev.glimpse; prints both tables (samples, share)."""
import collections
import re
import sys

text = open(sys.argv[1], errors="replace").read()
samples = re.split(r"jdk\.(?:ExecutionSample|NativeMethodSample) \{", text)
top = collections.Counter()
glimpse = collections.Counter()
for s in samples[1:]:
    frames = re.findall(r"^\s+([\w.$<>]+)\(.*?line: \d+", s, re.M)
    if not frames:
        continue
    top[frames[0]] += 1
    first = next((f for f in frames if f.startswith("dev.glimpse")), None)
    if first:
        glimpse[first] += 1
total = sum(top.values()) or 1
print(f"samples: {total}")
print("== top frames")
for f, c in top.most_common(30):
    print(f"{c:6d} {100 * c / total:5.1f}%  {f}")
print("== first dev.glimpse frame")
for f, c in glimpse.most_common(30):
    print(f"{c:6d} {100 * c / total:5.1f}%  {f}")
