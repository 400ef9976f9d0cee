#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with the packed bundle carried, e.g.
#   run(carry: ["bundle/packed"], command: "NCU_COUNT=1500 bash tools/device/ncu-profile.sh llava-1.5-7b")
#   run(carry: ["bundle/packed"], command: "NCU_SKIP=3000 NCU_COUNT=800 bash tools/device/ncu-profile.sh decoder")
# Kernel time breakdown with Nsight Compute (the device has ncu, not nsys): every kernel launched
# (CUDA graph nodes one by one) from the NCU_SKIP-th (default 0) for NCU_COUNT kernels (default
# 1500) gets its GPU duration (gpu__time_duration.sum; clocks left as they are), and
# ncu_summary.py sums them per kernel name and grid. Targets:
#   llava-1.5-7b | onevision-0.5b  a random-weight checkpoint of that shape (make_random_llava.py),
#                                  then CudaLlavaBench --budgets 64 --repeats 1 --steps 8
#                                  --warmup-seconds 0 on it: the first launches are one
#                                  image/video's vision tower and prefill
#   decoder                        CudaDecoderBench (Qwen2-0.5B shape) --prompt 64 --steps 40
# Each kernel runs alone with its caches flushed here; tools/device/timeline.sh times the same passes as
# they really run (CUPTI: graph replays, warm L2, the gaps between kernels).
# NCU_ARGS adds arguments to the profiled main class. The sum of kernel durations set against the wall-clock times the bench prints shows how much of
# a stage is GPU work and how much launch gaps. Output: $OUT/ncu.csv, $OUT/summary.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: ncu-profile.sh llava-1.5-7b|onevision-0.5b|decoder" >&2; exit 2; }
OUT="${OUT:-/tmp/glimpse-ncu-out}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
NCU="$(command -v ncu || echo /usr/local/cuda/bin/ncu)"
[ -x "$NCU" ] || { echo "ncu-profile: ncu not found" >&2; exit 1; }
source tools/device/bundle-env.sh
bundle_setup bundle "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
case "$1" in
  decoder) MAIN=(dev.glimpse.vlmruntime.bench.CudaDecoderBench --prompt 64 --steps 40 --repeats 1) ;;
  *) python3 tools/device/make_random_llava.py --shape "$1" --out "$WORK/model" > "$OUT/make.json" 2> "$OUT/make.err" \
       || { tail -5 "$OUT/make.err"; exit 1; }
     MAIN=(dev.glimpse.vlmruntime.bench.CudaLlavaBench --model "$WORK/model" --shape "$1" --budgets 64 --repeats 1 --steps 8
           --warmup-seconds 0) ;;
esac
"$NCU" --clock-control none --graph-profiling node --metrics gpu__time_duration.sum --csv --print-units base \
  --launch-skip "${NCU_SKIP:-0}" --launch-count "${NCU_COUNT:-1500}" \
  "$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g \
  -cp "$CP" "${MAIN[@]}" ${NCU_ARGS:-} > "$OUT/ncu.csv" 2> "$OUT/ncu.err"
echo "profiled exit: $?"; grep -v '^"' "$OUT/ncu.csv" | grep '^{' | head -5
python3 tools/device/ncu_summary.py "$OUT/ncu.csv" | tee "$OUT/summary.txt" | head -60
rm -rf "$WORK"
