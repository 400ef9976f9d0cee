#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with the packed bundle carried. An in-call A/B of kernel
# binaries: CudaLlavaBench on a random-weight checkpoint of each shape in FATBIN_AB_SHAPES (default
# "onevision-0.5b"), alternating the bundle's own fatbins ("new") with older ones ("old"), FATBIN_AB_ROUNDS times
# each (default 2, order old new old new ...), so drift between the runs falls on both sides.
# The old fatbins: a classpath root put ahead of the bundle's jars, FATBIN_AB_DIR (default bundle/packed/ab-fatbins)
# holding dev/glimpse/kernels/cuda/<name>.fatbin; made on the development machine before bundling, e.g.
#   d=bundle/packed/ab-fatbins/dev/glimpse/kernels/cuda; mkdir -p $d
#   git show 3780a70:kernels/src/main/resources/dev/glimpse/kernels/cuda/attention_mma.fatbin > $d/attention_mma.fatbin
# Use it only for binaries with the same kernel names and parameters (the Java side is the bundle's).
# FATBIN_AB_ARGS adds CudaLlavaBench arguments (default "--budgets 64 --steps 16 --repeats 3 --warmup-seconds 5").
# Prints each run's glimpse line (vision_ms, ttft_ms, ...) with its side; $OUT/fatbin-ab.jsonl keeps them.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/glimpse-fatbin-ab}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
OLD_DIR="$(realpath "${FATBIN_AB_DIR:-bundle/packed/ab-fatbins}")"
[ -d "$OLD_DIR/dev/glimpse/kernels/cuda" ] || { echo "fatbin-ab: no old fatbins under $OLD_DIR" >&2; exit 2; }
source tools/device/bundle-env.sh
bundle_setup bundle "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
echo "fatbin-ab: old fatbins: $(ls "$OLD_DIR/dev/glimpse/kernels/cuda" | tr '\n' ' ')"
for shape in ${FATBIN_AB_SHAPES:-onevision-0.5b}; do
  python3 tools/device/make_random_llava.py --shape "$shape" --out "$WORK/$shape" > /dev/null 2> "$OUT/make-$shape.err" \
    || { tail -5 "$OUT/make-$shape.err"; exit 1; }
  for round in $(seq 1 "${FATBIN_AB_ROUNDS:-2}"); do
    for side in old new; do
      cp="$CP"; [ "$side" = old ] && cp="$OLD_DIR:$CP"
      # shellcheck disable=SC2086
      line="$("$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g \
        -cp "$cp" dev.glimpse.vlmruntime.bench.CudaLlavaBench --model "$WORK/$shape" --shape "$shape" \
        ${FATBIN_AB_ARGS:---budgets 64 --steps 16 --repeats 3 --warmup-seconds 5} 2> "$OUT/$shape-$side-$round.err" \
        | grep '"impl":"glimpse"' | tail -1)"
      echo "{\"side\":\"$side\",\"round\":$round,\"shape\":\"$shape\",\"run\":${line:-null}}" | tee -a "$OUT/fatbin-ab.jsonl" \
        | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); r=d["run"] or {}; print(d["shape"], d["side"], d["round"], "vision_ms", r.get("vision_ms"), "ttft_ms", r.get("ttft_ms"), r.get("ttft_ms_by_visual_tokens"))'
    done
  done
done
rm -rf "$WORK"
