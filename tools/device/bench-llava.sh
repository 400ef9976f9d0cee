#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with a bundle carried: the packed one from
# tools/device/bundle.sh (fits next to the tree; use this):
#   run(carry: ["bundle/packed"], command: "bash tools/device/bench-llava.sh")
# or the old bundle/ (carry ["bundle"]), or a copy named by LLAVA_BENCH_BUNDLE (jre.tar.xz + lib/ or
# lib.tar.xz, COMMIT; tools/device/bundle-env.sh finds either layout):
# the model benchmark of issue 8, Glimpse vs HF transformers (bf16, sdpa) in one call. For each shape
# in LLAVA_BENCH_SHAPES (default "onevision-0.5b llava-1.5-7b", the smaller first so it finishes
# when the larger cannot): builds the random-weight checkpoint (make_random_llava.py), runs
# bench_hf_llava.py and CudaLlavaBench on it, deletes it. Every step gets what is left of
# LLAVA_BENCH_SECONDS (default 570, under the 600 s call limit). Writes $OUT/results.json (the
# object to keep as bench/results/h200-llava-<date>.json), $OUT/summary.txt and $OUT/logs.tar.gz.
# LLAVA_BENCH_ARGS adds arguments to CudaLlavaBench, e.g. "--profile" (a per-operation breakdown of the
# visual stage and the prefill, one llava_cuda_profile line) or "--prefill-chunk 256" (the old chunking).
# LLAVA_BENCH_AB="label=<JVM options>;label2=<JVM options>" runs Glimpse again per variant on the same checkpoint, in
# the same call (e.g. "noskinny=-Dglimpse.cuda.skinnyGemm=off"): logs ab-<label>-<shape>.jsonl, '# [label]' summary lines.
# Programmatic dependent launch of the prefill and tower kernels: LLAVA_BENCH_AB="pdlprefill=-Dglimpse.cuda.pdlPrefill=true".
# The tower's lean passes and its 16-bit fc1 (CudaBackend#towerLeanEnabled, #towerMlp16Enabled; both on by default):
# LLAVA_BENCH_AB="f32mlp=-Dglimpse.cuda.towerMlp16=false;nolean=-Dglimpse.cuda.towerLean=false -Dglimpse.cuda.towerMlp16=false".
# LLAVA_BENCH_INPROC_AB="<spec>" runs, after the Glimpse run, one more JVM on the same checkpoint with
# CudaLlavaBench --ab "<spec>" (InProcessAb): the variants alternate round by round inside that one JVM, so the
# spread between JVMs (about 1 ms of TTFT) does not hide 0.05-0.3 ms effects; only properties read at every call
# qualify (InProcessProperties names them; others are refused with the reason). Spec: "label=name=value,...;...",
# the first the base, e.g. LLAVA_BENCH_INPROC_AB="base=;lean=glimpse.cuda.towerLean=true;lp=glimpse.cuda.towerLean=true,glimpse.cuda.pdlPrefill=true".
# LLAVA_BENCH_INPROC_AB_ONLY=1 skips the HF and plain Glimpse runs (just the checkpoint and the in-process A/B).
# LLAVA_BENCH_INPROC_AB_ARGS adds arguments (--ab-rounds N, default 30; --ab-warmup N; --ab-steps N; --stages);
# LLAVA_BENCH_INPROC_AB_SHAPES="llava-1.5-7b" limits the A/B to those shapes (default: every shape).
# Its llava_cuda_ab lines (median, min, paired ratio variant/base per round) go to bench.jsonl and results.json,
# its '#' lines to the summary.
# LLAVA_BENCH_SERVE_MIX=1 runs, after that, ServeMixBench on each LLaVA (not OneVision) shape: ~30 requests whose
# question lengths and max_tokens vary (a REST serve's mix), TTFT median/p90 per in-process variant against exact
# session capacities and prefill rows (default variants: exact, 256-entry capacity buckets, buckets + prefill
# graphs padded to 16 rows, and to 32), with the prefill graphs' op-by-op/capture/replay counts: serve_mix lines in bench.jsonl, '#' lines in the
# summary. LLAVA_BENCH_SERVE_MIX=only skips the HF and CudaLlavaBench runs (just the checkpoint and the mix), e.g.
#   LLAVA_BENCH_SHAPES=llava-1.5-7b LLAVA_BENCH_SERVE_MIX=only bash tools/device/bench-llava.sh
# LLAVA_BENCH_SERVE_MIX_ARGS adds arguments (--rounds N, default 5; --switch-warmup N, default the whole mix; --requests N, default 30; --seed S; --ab "<spec>").
# LLAVA_BENCH_SERVE_WARMUP=1 runs ServeWarmupBench on each LLaVA (not OneVision) shape, one fresh JVM per variant: cold
# (no warm-up, an empty cuBLASLt store), warm (serve's warm-up first, an empty store) and stored (no warm-up, the store
# the warm JVM left: a machine that served before); each sends the serve mix at a 64-token budget plus 5 full-count
# requests twice (first pass: a just-started server's early users; second: steady state). serve_warmup lines per variant
# and serve_warmup_ab lines (old and new first-pass TTFT median/p90/max/mean in us and their ratio: warm vs cold, stored
# vs cold) in bench.jsonl, '#' lines in the summary; LLAVA_BENCH_SERVE_WARMUP=only skips everything else, e.g.
#   LLAVA_BENCH_SHAPES=llava-1.5-7b LLAVA_BENCH_SERVE_WARMUP=only bash tools/device/bench-llava.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
START=$(date +%s)
DEADLINE=$((START + ${LLAVA_BENCH_SECONDS:-570}))
OUT="${OUT:-/tmp/glimpse-llava-out}"
WORK="$(mktemp -d)"
LOGS="$WORK/logs"
mkdir -p "$OUT" "$LOGS"
BUNDLE="${LLAVA_BENCH_BUNDLE:-bundle}"
source tools/device/bundle-env.sh
bundle_setup "$BUNDLE" "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
JFLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g
        -Dorg.slf4j.simpleLogger.defaultLogLevel=info)
left() { local s=$((DEADLINE - $(date +%s))); echo $((s > 5 ? s : 5)); }
: > "$LOGS/make.jsonl"; : > "$LOGS/bench.jsonl"

python3 - "$(head -1 "$BUNDLE_DIR/COMMIT")" "$(sed -n 2p "$BUNDLE_DIR/COMMIT")" > "$LOGS/machine.json" <<'PY'
import json, subprocess, sys, datetime, torch, transformers
gpu = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                     capture_output=True, text=True).stdout.strip()
print(json.dumps({"gpu": gpu, "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                  "commit": sys.argv[1], "commit_note": sys.argv[2], "torch": torch.__version__,
                  "transformers": transformers.__version__, "cpus": __import__("os").cpu_count()}))
PY
cat "$LOGS/machine.json"; "$JAVA" -version 2>&1 | head -1

for shape in ${LLAVA_BENCH_SHAPES:-onevision-0.5b llava-1.5-7b}; do
  echo "== $shape: checkpoint ($(left) s left)"
  timeout "$(left)" python3 tools/device/make_random_llava.py --shape "$shape" --out "$WORK/$shape" \
    >> "$LOGS/make.jsonl" 2> "$LOGS/make-$shape.err"
  echo "make exit: $?"; tail -1 "$LOGS/make.jsonl"; tail -3 "$LOGS/make-$shape.err"
  serve_mix_only=$([ "${LLAVA_BENCH_SERVE_MIX:-}" = only ] || [ "${LLAVA_BENCH_SERVE_WARMUP:-}" = only ] && echo 1 || echo 0)
  if [ "$serve_mix_only" = 0 ]; then
    if [ -z "${LLAVA_BENCH_INPROC_AB_ONLY:-}" ]; then
    echo "== $shape: HF transformers ($(left) s left)"
    timeout "$(left)" python3 tools/device/bench_hf_llava.py --model "$WORK/$shape" --shape "$shape" \
      >> "$LOGS/bench.jsonl" 2> "$LOGS/hf-$shape.err"
    echo "hf exit: $?"; tail -3 "$LOGS/hf-$shape.err" | grep -v Loading
    echo "== $shape: glimpse ($(left) s left)"
    timeout "$(left)" "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.vlmruntime.bench.CudaLlavaBench \
      --model "$WORK/$shape" --shape "$shape" --budgets 144,64 ${LLAVA_BENCH_ARGS:-} >> "$LOGS/bench.jsonl" \
      2> "$LOGS/glimpse-$shape.err"
    echo "glimpse exit: $?"; grep -E 'Exception|Error|at dev' "$LOGS/glimpse-$shape.err" | head -8
    fi
    if [ -n "${LLAVA_BENCH_INPROC_AB:-}" ] && [[ " ${LLAVA_BENCH_INPROC_AB_SHAPES:-$shape} " == *" $shape "* ]]; then
      echo "== $shape: glimpse in-process A/B '$LLAVA_BENCH_INPROC_AB' ($(left) s left)"
      # shellcheck disable=SC2086
      timeout "$(left)" "$JAVA" "${JFLAGS[@]}" -Dorg.slf4j.simpleLogger.log.dev.glimpse.visionencoder.TowerGraphs=debug \
        -Dorg.slf4j.simpleLogger.log.dev.glimpse.vlmruntime.decoder.PrefillGraphs=debug \
        -cp "$CP" dev.glimpse.vlmruntime.bench.CudaLlavaBench \
        --model "$WORK/$shape" --shape "$shape" --budgets 144,64 --ab "$LLAVA_BENCH_INPROC_AB" \
        ${LLAVA_BENCH_INPROC_AB_ARGS:-} >> "$LOGS/bench.jsonl" 2> "$LOGS/inproc-ab-$shape.err"
      echo "in-process A/B exit: $?"; grep -E 'Exception|Error|at dev' "$LOGS/inproc-ab-$shape.err" | head -8
      # every variant must replay its own tower and prefill graphs in the measured rounds: count captures there
      awk -v shape="$shape" '/measured rounds begin/ {on = 1} /measured rounds end/ {on = 0}
        on && /captured a CUDA graph/ {n++}
        END {printf "# [in-process A/B %s] graph captures inside measured rounds: %d (0 expected)\n", shape, n}' \
        "$LOGS/inproc-ab-$shape.err" | tee -a "$LOGS/bench.jsonl"
    fi
  fi
  if [ -n "${LLAVA_BENCH_SERVE_MIX:-}" ] && [ "${shape#onevision}" = "$shape" ]; then
    echo "== $shape: serve mix ($(left) s left)"
    # shellcheck disable=SC2086
    timeout "$(left)" "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.vlmruntime.bench.ServeMixBench \
      --model "$WORK/$shape" --shape "$shape" ${LLAVA_BENCH_SERVE_MIX_ARGS:-} >> "$LOGS/bench.jsonl" \
      2> "$LOGS/serve-mix-$shape.err"
    echo "serve mix exit: $?"; grep -E 'Exception|Error|at dev' "$LOGS/serve-mix-$shape.err" | head -8
    grep '"bench":"serve_mix"' "$LOGS/bench.jsonl" | grep "\"model\":\"$shape\""
  fi
  if [ -n "${LLAVA_BENCH_SERVE_WARMUP:-}" ] && [ "${shape#onevision}" = "$shape" ]; then
    store="$WORK/lt-store-$shape.json"
    rm -f "$store" "$store.cold"
    : > "$LOGS/serve-warmup-$shape.jsonl"
    for variant in cold:off:"$store.cold" warm:on:"$store" stored:off:"$store"; do
      IFS=: read -r label mode lt <<< "$variant"
      echo "== $shape: serve warm-up, $label ($(left) s left)"
      timeout "$(left)" "$JAVA" "${JFLAGS[@]}" -Dglimpse.cuda.ltTuneCache="$lt" -cp "$CP" \
        dev.glimpse.vlmruntime.bench.ServeWarmupBench --model "$WORK/$shape" --shape "$shape" --warmup "$mode" \
        --variant "$label" >> "$LOGS/serve-warmup-$shape.jsonl" 2> "$LOGS/serve-warmup-$label-$shape.err"
      echo "serve warm-up $label exit: $?"; grep -E 'Exception|Error|at dev|warm-up (complete|cut short|stopped|failed)' \
        "$LOGS/serve-warmup-$label-$shape.err" | head -6
    done
    cat "$LOGS/serve-warmup-$shape.jsonl" >> "$LOGS/bench.jsonl"
    python3 - "$LOGS/serve-warmup-$shape.jsonl" >> "$LOGS/bench.jsonl" <<'PY'
import json, sys
runs = {r["variant"]: r for r in (json.loads(l) for l in open(sys.argv[1]) if l.startswith("{"))}
for new, old in (("warm", "cold"), ("stored", "cold")):
    if new not in runs or old not in runs:
        continue
    n, o = runs[new], runs[old]
    out = {"bench": "serve_warmup_ab", "model": n["model"], "device": n["device"], "variant": new, "base": old,
           "warmup_s": n["warmup_s"], "requests": n["requests"]}
    for m in ("median", "p90", "max", "mean"):
        key = f"first_ttft_us_{m}"
        out[f"old_{key}"], out[f"new_{key}"] = o[key], n[key]
        out[f"ratio_{m}"] = round(n[key] / o[key], 4) if o[key] else None
    out["old_first_over_100ms"], out["new_first_over_100ms"] = o["first_over_100ms"], n["first_over_100ms"]
    out["steady_ratio_median"] = round(n["steady_ttft_us_median"] / o["steady_ttft_us_median"], 4)
    print(json.dumps(out))
    print(f"# serve warm-up {n['model']} [{new} vs {old}]: first-pass TTFT median {o['first_ttft_us_median'] / 1e3:.2f} -> "
          f"{n['first_ttft_us_median'] / 1e3:.2f} ms ({out['ratio_median']}x), p90 {out['ratio_p90']}x, max "
          f"{o['first_ttft_us_max'] / 1e3:.0f} -> {n['first_ttft_us_max'] / 1e3:.0f} ms, over 100 ms "
          f"{o['first_over_100ms']} -> {n['first_over_100ms']} of {n['requests']}; warm-up {n['warmup_s']:.1f} s; "
          f"steady state {out['steady_ratio_median']}x")
PY
    grep '^# serve warm-up' "$LOGS/bench.jsonl" | grep "$shape"
  fi
  [ "$serve_mix_only" = 1 ] && { rm -rf "${WORK:?}/$shape"; continue; }
  IFS=';' read -r -a variants <<< "${LLAVA_BENCH_AB:-}"
  for variant in "${variants[@]}"; do
    [ -n "$variant" ] || continue
    label="${variant%%=*}"; opts="${variant#*=}"
    echo "== $shape: glimpse A/B variant '$label': $opts ($(left) s left)"
    # shellcheck disable=SC2086
    timeout "$(left)" "$JAVA" "${JFLAGS[@]}" $opts -cp "$CP" dev.glimpse.vlmruntime.bench.CudaLlavaBench \
      --model "$WORK/$shape" --shape "$shape" --budgets 144,64 ${LLAVA_BENCH_ARGS:-} > "$LOGS/ab-$label-$shape.jsonl" \
      2> "$LOGS/ab-$label-$shape.err"
    echo "variant exit: $?"; grep -E 'Exception|Error|at dev' "$LOGS/ab-$label-$shape.err" | head -4
    sed "s/^#/# [$label]/" "$LOGS/ab-$label-$shape.jsonl" | grep '^#' >> "$LOGS/ab-summary.txt"
  done
  rm -rf "${WORK:?}/$shape"
done

python3 tools/device/summarize_llava.py "$LOGS/machine.json" "$LOGS/make.jsonl" "$LOGS/bench.jsonl" \
  > "$OUT/results.json" 2> "$LOGS/summary.txt"
grep -v '^{' "$LOGS/bench.jsonl" >> "$LOGS/summary.txt"
[ -f "$LOGS/ab-summary.txt" ] && cat "$LOGS/ab-summary.txt" >> "$LOGS/summary.txt"
cp "$LOGS/summary.txt" "$OUT/summary.txt"
tar -C "$WORK" -czf "$OUT/logs.tar.gz" logs
echo "================ SUMMARY ($(( $(date +%s) - START )) s)"
cat "$OUT/summary.txt"
