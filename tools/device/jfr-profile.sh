#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with the packed bundle carried, e.g.
#   run(carry: ["bundle/packed"], command: "bash tools/device/jfr-profile.sh llava-1.5-7b")
# Where the host's time goes while the GPU works: builds a random-weight checkpoint of the shape
# (make_random_llava.py), runs CudaLlavaBench on it under Java Flight Recorder (settings=profile:
# method samples every 10-20 ms per thread) and writes $OUT/bench.jfr (read it here with
# `jfr print --events jdk.ExecutionSample` or tools/device/jfr_hot.py) and $OUT/hot.txt, the
# methods on top of the most samples. JFR_ARGS replaces the bench arguments after --model/--shape
# (default: --budgets 64 --repeats 3 --steps 8 --warmup-seconds 3).
set -uo pipefail
cd "$(dirname "$0")/../.."
[ $# -ge 1 ] || { echo "usage: jfr-profile.sh llava-1.5-7b|onevision-0.5b" >&2; exit 2; }
OUT="${OUT:-/tmp/glimpse-jfr-out}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
source tools/device/bundle-env.sh
bundle_setup bundle "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
python3 tools/device/make_random_llava.py --shape "$1" --out "$WORK/model" > "$OUT/make.json" 2> "$OUT/make.err" \
  || { tail -5 "$OUT/make.err"; exit 1; }
# shellcheck disable=SC2086
"$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g \
  -XX:StartFlightRecording=filename="$OUT/bench.jfr",settings=profile \
  -cp "$CP" dev.glimpse.vlmruntime.bench.CudaLlavaBench --model "$WORK/model" --shape "$1" \
  ${JFR_ARGS:---budgets 64 --repeats 3 --steps 8 --warmup-seconds 3} > "$OUT/bench.jsonl" 2> "$OUT/bench.err"
echo "bench exit: $?"; grep '^#' "$OUT/bench.jsonl"
JFR="$(dirname "$JAVA")/jfr"
if [ -x "$JFR" ]; then
  "$JFR" print --events jdk.ExecutionSample,jdk.NativeMethodSample --stack-depth 16 "$OUT/bench.jfr" > "$WORK/samples.txt" 2>&1
  python3 tools/device/jfr_hot.py "$WORK/samples.txt" > "$OUT/hot.txt"
  head -60 "$OUT/hot.txt"
fi
rm -rf "$WORK"
