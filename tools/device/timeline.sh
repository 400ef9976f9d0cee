#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with the packed bundle carried:
#   run(carry: ["bundle/packed"], command: "bash tools/device/timeline.sh")
# The kernel timeline of the real run (issue 8: where the in-graph time of a pass goes): CUPTI's
# concurrent-kernel records (KernelTimeline) of the warm passes of CudaLlavaBench, CUDA graphs
# replayed and caches warm as in the measured TTFT, unlike ncu-profile.sh (each kernel alone,
# caches flushed). For each shape in TIMELINE_SHAPES (default "llava-1.5-7b onevision-0.5b"):
# builds the random-weight checkpoint (make_random_llava.py), runs CudaLlavaBench --budgets 64
# --repeats 1 --steps 8 --warmup-seconds 3 --timeline $OUT/timeline-<shape>.json on it, deletes it,
# and prints the summary of each recorded pass (TimelineReport): per plan, the third run of the
# request its TTFT measures (after one op by op and one capturing the graphs): its visual stage with
# the plan's hooks (LLaVA: the CLIP-L/336 tower's 23 layers; OneVision: SigLIP over the video), its
# prefill and first token (LLaVA-1.5-7B: 586 rows at the full budget, 74 at 64 VTC-CLS tokens), the
# whole request as one pass, and one replayed decode step; each name ends in its kernels' share
# from CUDA graphs; per layer the
# kernel time, the gap time (no kernel running) and the span, per kernel position within a layer
# the mean time and the gap after it, and per pass the kernel and gap sums against the host's wall
# time (lead: host mark to first kernel; tail: last kernel to the host's wake-up).
# Output: $OUT/timeline-<shape>.json (Chrome trace: open in ui.perfetto.dev), $OUT/summary.txt,
# $OUT/bench-<shape>.jsonl and .err (CUPTI on: the bench's own numbers are not headline numbers).
# TIMELINE_ARGS adds CudaLlavaBench arguments, TIMELINE_JVM JVM options (e.g. an A/B variant's
# -Dglimpse... flag), TIMELINE_SECONDS (default 570) bounds the whole call. Summarize a file again:
#   java -cp "$CP" dev.glimpse.kernels.cuda.timeline.TimelineReport timeline.json [--layer-start REGEX]
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
DEADLINE=$((START + ${TIMELINE_SECONDS:-570}))
OUT="${OUT:-/tmp/glimpse-timeline-out}"
WORK="$(mktemp -d)"
mkdir -p "$OUT"
source tools/device/bundle-env.sh
bundle_setup bundle "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
CUPTI_LIB="$(cupti_dir)" || exit 1
export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$CUPTI_LIB"
echo "timeline: libcupti.so.13 from $CUPTI_LIB"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
JFLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g
        -Dorg.slf4j.simpleLogger.defaultLogLevel=info)
left() { local s=$((DEADLINE - $(date +%s))); echo $((s > 5 ? s : 5)); }
: > "$OUT/summary.txt"
{ echo "commit: $(tr '\n' ' ' < "$BUNDLE_DIR/COMMIT")"; date -u +"date: %Y-%m-%dT%H:%M:%SZ";
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; } | tee -a "$OUT/summary.txt"

for shape in ${TIMELINE_SHAPES:-llava-1.5-7b onevision-0.5b}; do
  echo "== $shape: checkpoint ($(left) s left)"
  timeout "$(left)" python3 tools/device/make_random_llava.py --shape "$shape" --out "$WORK/$shape" \
    > "$OUT/make-$shape.json" 2> "$OUT/make-$shape.err" || { tail -3 "$OUT/make-$shape.err"; continue; }
  echo "== $shape: CudaLlavaBench --timeline ($(left) s left)"
  # shellcheck disable=SC2086
  timeout "$(left)" "$JAVA" "${JFLAGS[@]}" ${TIMELINE_JVM:-} -cp "$CP" dev.glimpse.vlmruntime.bench.CudaLlavaBench \
    --model "$WORK/$shape" --shape "$shape" --budgets 64 --repeats 1 --steps 8 --warmup-seconds 3 \
    --timeline "$OUT/timeline-$shape.json" ${TIMELINE_ARGS:-} > "$OUT/bench-$shape.jsonl" 2> "$OUT/bench-$shape.err"
  echo "bench exit: $?"; grep -E 'Exception|Error|at dev|kernel timeline|CUPTI' "$OUT/bench-$shape.err" | head -8
  rm -rf "${WORK:?}/$shape"
  if [ -f "$OUT/timeline-$shape.json" ]; then
    { echo "== $shape"; grep -E '^# .* on .*: vision |^#   TTFT at' "$OUT/bench-$shape.jsonl"
      "$JAVA" -cp "$CP" dev.glimpse.kernels.cuda.timeline.TimelineReport "$OUT/timeline-$shape.json"; } \
      >> "$OUT/summary.txt" 2>&1
  fi
done
rm -rf "$WORK"
echo "================ SUMMARY ($(( $(date +%s) - START )) s)"
cat "$OUT/summary.txt"
