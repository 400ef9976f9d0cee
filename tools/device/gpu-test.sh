#!/usr/bin/env bash
# Runs ON the GPU machine, from the repository root, with the bundle (tools/device/bundle.sh)
# carried along, either packed (fits next to the tree; use this):
#   run(carry: ["bundle/packed"], command: "bash tools/device/gpu-test.sh")
# or the old unpacked bundle/ (carry: ["bundle"]; too big next to the demo model now). Unpacks the
# runtime (and bundle/packed/lib.tar.xz when bundle/lib is absent: tools/device/bundle-env.sh),
# proves the CUDA kernel path in its own JVM, runs the kernel
# GPU tests (CudaBackend vs CpuBackend), the model GPU tests (every LLaVA and decoder fixture on
# CUDA vs HF and the CPU), the top-k benchmark against torch.topk, the decoder benchmark against
# HF transformers, the prefill attention benchmark (F32 3xTF32 vs the bf16/f16 mma kernel at 4 and 8 warps) and the decode GEMV benchmark
# (-Dglimpse.cuda.gemv=multi4 vs the warp fallback), the decode attention and decode step benchmarks (fused combine and PDL A/B), and prints a summary.
# GPU_TEST_PARTS (default "kernels models topk decoder prefill gemv decodeattn") picks the parts; opt-in parts:
# "prefillgemm" (PrefillGemmBench: cuBLASLt heuristic vs measured vs the wide search, separate vs stacked, the
# chosen configurations; the wide pass searches up to 1024 rows unless PREFILL_GEMM_OPTS="<JVM options>" sets
# -Dglimpse.cuda.ltSearch.maxRows, and -DprefillGemm.algorithms=heuristic,tuned,tuned-rotate,wide,wide-rotate picks the
# passes (default heuristic,tuned,wide,wide-rotate); PREFILL_GEMM_ROWS="74 586" picks the row counts), "smallkernels"
# (PrefillSmallKernelsBench: RoPE + KV append scalar vs vectorised, attention + o_proj with F32 rows + convert vs
# 16-bit rows, attention with 2 vs 3 K/V buffers, RoPE + append + attention as two launches vs one, prefill PDL off vs
# on; Llama-7B and Qwen2-0.5B at 586 and 74 rows), "normrows" (NormRowsBench: LayerNorm/RMSNorm row kernels v4 vs
# -Dglimpse.cuda.normRows=auto|staged at 74/586 x 4096, 74 x 896, 577 x 1024, 729 x 1152, L2-hot and cold) and "visiontower" (CudaVisionTowerBench: SigLIP/CLIP towers with the
# GEMM epilogues on vs off, layout, -Dglimpse.cuda.pdlPrefill / -Dglimpse.cuda.towerLean off vs on, and lean with
# -Dglimpse.cuda.towerMlp16: variants "layout", "layout_pdl", "lean", "lean_pdl", "lean_mlp16"); "attnshapes"
# (AttentionShapesBench: every -Dglimpse.cuda.attentionSmallGrid shape against today's choice on CLIP-L/336's and
# SigLIP's one-image tower attention and Llama-7B's / Qwen2-0.5B's 74-row RoPE + append + attention, graph-replayed;
# also each -Dglimpse.cuda.towerAttentionResident variant vs off (the tiled kernels) on the tower cases; ATTN_SHAPES_ROWS="74,128,208,288"
# picks the rope-attention row counts); "decodestep" (DecodeStepBench alone); "pixels" (CudaPinnedStagingTest, CudaPixelNormalizationTest,
# CudaDevicePixelsTest, CudaWeightStagingTest, each in its own JVM); "staging" (decode weight staging: CudaWeightStagingTest, then
# DecodeStepBench ab glimpse.cuda.decodeWeightStaging off staged early); "ropeattn" (the decode RoPE + append + wide attention kernel,
# -Dglimpse.cuda.decodeRopeAttention: CudaDecodeRopeAttentionTest and CudaDecodeRopeAttentionModelTest
# (each in its own JVM, GPU_TEST_ROPEATTN_TIMEOUT s each, default 150), DecodeStepBench ropeAttention (us per layer with the switch off vs on,
# 600 and 6,300 keys, F32 and BF16 caches), then CudaWideDecodeAttentionTest; about 8 minutes at most);
# Opt-in part "cli": the glimpse command line with --device cuda|auto (tools/device/cli_check.py; carry bundle/cli
# from tools/device/bundle-cli.sh too). Opt-in part "isolated": each class of GPU_TEST_ISOLATED_CLASSES="<class names>" in its own JVM (a sticky CUDA error
# fails only its class), GPU_TEST_CLASS_TIMEOUT seconds each (default 150).
# GPU_TEST_KERNEL_SHARD="i/n" runs the i-th of n round-robin shards of the kernels package's test classes (sorted by
# name; shard 1 also takes BackendsTest): the whole kernels part outgrew one 600 s call (it was cut at 290 s on the
# H200, 2026-11-29), so run "1/3", "2/3" and "3/3" in three calls (on the H200, 2026-11-29: 277, 509 and 257
# tests, shards 1-2 at 21bc5e4, shard 3 at fbdf307, each well inside one call).
# GPU_TEST_KERNEL_CLASSES / GPU_TEST_MODEL_CLASSES="<class names>" run only those test classes in the kernels / models
# part (e.g. the classes a change added, when the whole part would not fit one call); GPU_TEST_KERNELS_TIMEOUT and
# GPU_TEST_MODELS_TIMEOUT (seconds, default 300 / 400) bound the two parts.
# DECODER_AB="label=<JVM options>;..." reruns the decoder benchmark per variant (A/B of a flag in the same call).
# DECODE_STEP_OPTS="<JVM options>" for the decode step benchmark (e.g. -Dglimpse.cuda.decodeMegakernel.timers=true:
# the persistent kernels' per-phase lines, "persistent_decode_phases", also shown in the summary).
# Logs and the summary go to $OUT (or /tmp/glimpse-gpu-out) as results.tar.gz + summary.txt.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT="${OUT:-/tmp/glimpse-gpu-out}"
WORK="$(mktemp -d)"
LOGS="${GPU_TEST_LOGS:-$WORK/logs}"  # GPU_TEST_LOGS="$OUT/logs" keeps the logs of a run the call limit cuts off
mkdir -p "$OUT" "$LOGS"
source tools/device/bundle-env.sh
bundle_setup bundle "$WORK" || exit 1
export LD_LIBRARY_PATH="/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}"
CUPTI_LIB="$(cupti_dir)" && export LD_LIBRARY_PATH="$LD_LIBRARY_PATH:$CUPTI_LIB"  # KernelTimelineTest
export RUST_FLAVOR=cpu DJL_OFFLINE=true
PARTS="${GPU_TEST_PARTS:-kernels models topk decoder prefill gemv decodeattn}"
has() { [[ " $PARTS " == *" $1 "* ]]; }
: > "$LOGS/tests.log"; : > "$LOGS/model-tests.log"; : > "$LOGS/topk-glimpse.jsonl"; : > "$LOGS/topk-torch.jsonl"
: > "$LOGS/decoder-bench.jsonl"; : > "$LOGS/prefill-attention.jsonl"; : > "$LOGS/gemv-bench.jsonl"
JFLAGS=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx24g
        -Dorg.slf4j.simpleLogger.defaultLogLevel=info)

{ echo "commit: $(cat "$BUNDLE_DIR/COMMIT" | tr '\n' ' ')"; date -u +"date: %Y-%m-%dT%H:%M:%SZ";
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; "$JAVA" -version 2>&1 | head -1; } \
  | tee "$LOGS/machine.txt"

echo "== probe"
if ! "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.CudaProbe 2>&1 | tee "$LOGS/probe.log"; then
  echo "probe failed; rerunning under compute-sanitizer"
  compute-sanitizer --print-limit 20 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.CudaProbe \
    > "$LOGS/probe-sanitizer.log" 2>&1
  tail -40 "$LOGS/probe-sanitizer.log"
fi

# The JUnit selection of a part: --select-class per name in $1 (space-separated class names) when
# given, else the part's default selection $2.
selection() {
  if [ -n "$1" ]; then
    for c in $1; do printf -- '--select-class %s ' "$c"; done
  else
    printf '%s' "$2"
  fi
}

# GPU_TEST_KERNEL_SHARD="i/n": the i-th of n round-robin shards of the kernels package's test classes.
kernel_shard() {
  local i="${1%/*}" n="${1#*/}"
  [[ "$i" =~ ^[0-9]+$ && "$n" =~ ^[0-9]+$ && "$i" -ge 1 && "$i" -le "$n" ]] \
    || { echo "GPU_TEST_KERNEL_SHARD must be i/n with 1 <= i <= n, got '$1'" >&2; return 1; }
  ls kernels/src/test/java/dev/glimpse/kernels/cuda/*Test.java | sed 's#.*/##; s#\.java$##' | sort \
    | awk -v i="$i" -v n="$n" '(NR - 1) % n == i - 1 {printf "dev.glimpse.kernels.cuda.%s ", $0}'
  [ "$i" -eq 1 ] && printf 'dev.glimpse.kernels.BackendsTest '
  return 0
}
if [ -n "${GPU_TEST_KERNEL_SHARD:-}" ]; then
  GPU_TEST_KERNEL_CLASSES="$(kernel_shard "$GPU_TEST_KERNEL_SHARD")" || exit 2
fi

if has kernels; then
  echo "== kernel GPU tests${GPU_TEST_KERNEL_SHARD:+ (shard $GPU_TEST_KERNEL_SHARD)}"
  timeout "${GPU_TEST_KERNELS_TIMEOUT:-300}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner \
    --details=tree --class-path "$CP" $(selection "${GPU_TEST_KERNEL_CLASSES:-}" \
      "--select-package dev.glimpse.kernels.cuda --select-class dev.glimpse.kernels.BackendsTest") \
    > "$LOGS/tests.log" 2>&1
  echo "tests exit: $?" | tee -a "$LOGS/tests.log"
  grep -E "✘|MethodSource|Exception|expected" "$LOGS/tests.log" | head -40
fi

if has models; then
  echo "== model GPU tests (fixtures on CUDA vs HF and CPU)"
  timeout "${GPU_TEST_MODELS_TIMEOUT:-400}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner \
    --details=tree --class-path "$CP" $(selection "${GPU_TEST_MODEL_CLASSES:-}" \
      "--select-package dev.glimpse.vlmruntime.gpu --select-class dev.glimpse.visionencoder.CudaVisionGraphsTest
       --select-class dev.glimpse.visionencoder.CudaTowerLeanTest
       --select-class dev.glimpse.visionencoder.CudaTowerMlp16Test") \
    --include-classname '.*\.Cuda[A-Za-z]*Test$' \
    > "$LOGS/model-tests.log" 2>&1
  echo "model tests exit: $?" | tee -a "$LOGS/model-tests.log"
  grep -E "✘|Exception|expected:" "$LOGS/model-tests.log" | head -40
fi

if has isolated; then
  # One JVM per class of GPU_TEST_ISOLATED_CLASSES, so that a fault that poisons one CUDA context (a sticky
  # launch error) fails only its own class; each bounded by GPU_TEST_CLASS_TIMEOUT seconds (default 150).
  echo "== isolated GPU test classes"
  for c in ${GPU_TEST_ISOLATED_CLASSES:?isolated needs GPU_TEST_ISOLATED_CLASSES}; do
    log="$LOGS/isolated-${c##*.}.log"
    timeout "${GPU_TEST_CLASS_TIMEOUT:-150}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner \
      --details=tree --class-path "$CP" --select-class "$c" > "$log" 2>&1
    code=$?
    echo "$c exit: $code ($(grep -E '[0-9]+ tests (successful|failed|skipped)' "$log" | tr -s ' ' | tr '\n' ' '))"
    grep -E "✘|Exception|expected:" "$log" | head -10
  done
fi

if has topk; then
  echo "== top-k benchmark"
  timeout 120 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.TopKBench > "$LOGS/topk-glimpse.jsonl" 2> "$LOGS/topk-glimpse.err"
  echo "glimpse bench exit: $?"; tail -3 "$LOGS/topk-glimpse.err"
  timeout 120 python3 tools/device/topk_torch.py > "$LOGS/topk-torch.jsonl" 2> "$LOGS/topk-torch.err"
  echo "torch bench exit: $?"; tail -3 "$LOGS/topk-torch.err"
fi

if has decoder; then
  echo "== decoder benchmark (Qwen2-0.5B shape, bf16): glimpse cuda vs HF transformers"
  timeout 240 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.vlmruntime.bench.CudaDecoderBench >> "$LOGS/decoder-bench.jsonl" \
    2> "$LOGS/decoder-glimpse.err"
  echo "glimpse decoder bench exit: $?"; tail -3 "$LOGS/decoder-glimpse.err"
  timeout 240 python3 tools/device/bench_hf_decoder.py >> "$LOGS/decoder-bench.jsonl" 2> "$LOGS/decoder-hf.err"
  echo "hf decoder bench exit: $?"; tail -3 "$LOGS/decoder-hf.err"
fi

if has prefill; then
  echo "== prefill attention benchmark (tensor-core kernels: F32 3xTF32 vs bf16/f16 mma)"
  timeout 120 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.PrefillAttentionBench \
    > "$LOGS/prefill-attention.jsonl" 2> "$LOGS/prefill-attention.err"
  echo "prefill attention bench exit: $?"; tail -3 "$LOGS/prefill-attention.err"; cat "$LOGS/prefill-attention.jsonl"
fi

if has gemv; then
  echo "== decode GEMV benchmark (bf16 weights, multi4 vs the warp fallback)"
  timeout 120 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.GemvBench \
    > "$LOGS/gemv-bench.jsonl" 2> "$LOGS/gemv-bench.err"
  echo "gemv bench exit: $?"; tail -3 "$LOGS/gemv-bench.err"
  grep -E '"bench":"gemv_(token_graph|summary|l2)"' "$LOGS/gemv-bench.jsonl"
fi

if has decoder; then
  IFS=';' read -r -a variants <<< "${DECODER_AB:-}"
  for variant in "${variants[@]}"; do
    [ -n "$variant" ] || continue
    label="${variant%%=*}"; opts="${variant#*=}"
    echo "== decoder benchmark A/B variant '$label': $opts"
    # shellcheck disable=SC2086
    timeout 240 "$JAVA" "${JFLAGS[@]}" $opts -cp "$CP" dev.glimpse.vlmruntime.bench.CudaDecoderBench \
      > "$LOGS/decoder-bench-$label.jsonl" 2> "$LOGS/decoder-$label.err"
    echo "variant exit: $?"; tail -2 "$LOGS/decoder-$label.err"; grep -v '^{' "$LOGS/decoder-bench-$label.jsonl" | head -5
    grep -h '"impl":"glimpse"\|"persistent_decode_phases"' "$LOGS/decoder-bench-$label.jsonl" | sed "s/^/[$label] /" | head -6
  done
fi

# DecodeStepBench (graph step and persistent kernels, us per layer; DECODE_STEP_OPTS as above) within $1 seconds.
decode_step_bench() {
  # shellcheck disable=SC2086
  timeout "$1" "$JAVA" "${JFLAGS[@]}" ${DECODE_STEP_OPTS:-} -cp "$CP" dev.glimpse.kernels.cuda.bench.DecodeStepBench \
    > "$LOGS/decode-step.jsonl" 2> "$LOGS/decode-step.err"
  echo "decode step bench exit: $?"; tail -3 "$LOGS/decode-step.err"
  grep -E 'summary|persistent_decode_phases' "$LOGS/decode-step.jsonl"
}

if has decodeattn; then
  echo "== decode attention and decode step benchmarks (fused combine / PDL A/B)"
  timeout 240 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.DecodeAttentionBench \
    > "$LOGS/decode-attention.jsonl" 2> "$LOGS/decode-attention.err"
  echo "decode attention bench exit: $?"; tail -3 "$LOGS/decode-attention.err"
  grep -E 'summary' "$LOGS/decode-attention.jsonl"
  decode_step_bench 150
fi

if has decodestep; then
  # DecodeStepBench alone (the decode step half of "decodeattn").
  echo "== decode step benchmark"
  decode_step_bench 200
fi

if has prefillgemm; then
  echo "== prefill GEMM benchmark (cuBLASLt heuristic vs measured vs wide search, flush vs rotation timing, separate vs stacked products)"
  # shellcheck disable=SC2086
  timeout 360 "$JAVA" "${JFLAGS[@]}" ${PREFILL_GEMM_OPTS:-} -cp "$CP" dev.glimpse.kernels.cuda.bench.PrefillGemmBench \
    ${PREFILL_GEMM_ROWS:-} > "$LOGS/prefill-gemm.jsonl" 2> "$LOGS/prefill-gemm.err"
  echo "prefill gemm bench exit: $?"; tail -3 "$LOGS/prefill-gemm.err"
  grep -E '"bench":"prefill_gemm_layers"|"bench":"prefill_gemm_choice"' "$LOGS/prefill-gemm.jsonl"
  grep -E 'wide search' "$LOGS/prefill-gemm.err" | head -40
fi

# kernel_bench LOG TITLE CLASS: one 200 s run of a kernels bench class, its JSON lines into $LOGS/LOG.jsonl and printed.
kernel_bench() {
  echo "== $2"
  timeout 200 "$JAVA" "${JFLAGS[@]}" -cp "$CP" "dev.glimpse.kernels.cuda.bench.$3" > "$LOGS/$1.jsonl" 2> "$LOGS/$1.err"
  echo "$3 exit: $?"; tail -3 "$LOGS/$1.err"
  cat "$LOGS/$1.jsonl"
}
has smallkernels && kernel_bench prefill-small-kernels \
  "prefill small kernels benchmark (old vs new per kernel: rope_append, attention, attention_o_proj, rope_attention)" \
  PrefillSmallKernelsBench
has normrows && kernel_bench norm-rows \
  "norm rows benchmark (LayerNorm/RMSNorm v4 vs -Dglimpse.cuda.normRows variants, hot and cold L2)" NormRowsBench
if has attnshapes; then
  ATTN_SHAPES_SAVED_JFLAGS=("${JFLAGS[@]}")
  [ -n "${ATTN_SHAPES_ROWS:-}" ] && JFLAGS+=("-DattnShapes.rows=$ATTN_SHAPES_ROWS")
  kernel_bench attention-shapes \
    "attention block shapes benchmark (small-grid shapes and resident tower attention vs today's choice: CLIP, SigLIP, rope-attention)" \
    AttentionShapesBench
  JFLAGS=("${ATTN_SHAPES_SAVED_JFLAGS[@]}")
fi

if has ropeattn; then
  # The decode step's RoPE + KV append folded into the wide decode attention kernel
  # (-Dglimpse.cuda.decodeRopeAttention): its GPU tests (bit-identical to rope_append_kv + the wide kernel, kernel and
  # model level), DecodeStepBench's A/B of the switch (decode_step_rope_attention lines: us per layer off / on), then
  # the wide kernel's own tests (its dispatch was refactored for the fused kernel), each class in its own JVM (the
  # model test's backend apart from the kernel tests' shared one), in that order.
  echo "== decode RoPE + append + wide attention in one kernel: GPU tests, DecodeStepBench ropeAttention, wide tests"
  for c in dev.glimpse.kernels.cuda.CudaDecodeRopeAttentionTest dev.glimpse.vlmruntime.gpu.CudaDecodeRopeAttentionModelTest; do
    log="$LOGS/ropeattn-${c##*.}.log"
    timeout "${GPU_TEST_ROPEATTN_TIMEOUT:-150}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner \
      --details=tree --class-path "$CP" --select-class "$c" > "$log" 2>&1
    echo "$c exit: $?"
    grep -E "tests (successful|failed|skipped)|✘|Exception|expected" "$log" | head -30
  done
  timeout 120 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.DecodeStepBench ropeAttention \
    > "$LOGS/decode-rope-attention.jsonl" 2> "$LOGS/decode-rope-attention.err"
  echo "DecodeStepBench ropeAttention exit: $?"; tail -3 "$LOGS/decode-rope-attention.err"
  cat "$LOGS/decode-rope-attention.jsonl"
  timeout 150 "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner --details=tree --class-path "$CP" \
    --select-class dev.glimpse.kernels.cuda.CudaWideDecodeAttentionTest > "$LOGS/ropeattn-wide-tests.log" 2>&1
  echo "wide decode attention tests exit: $?"
  grep -E "tests (successful|failed|skipped)|✘|Exception|expected" "$LOGS/ropeattn-wide-tests.log" | head -20
fi

if has staging; then
  # Decode weight staging (-Dglimpse.cuda.decodeWeightStaging=off|staged|early, WeightStaging): its GPU tests
  # (bit-identical to the unstaged kernels, per op and over a 24-layer chain, eager and replayed), then
  # DecodeStepBench's in-process A/B of the three modes (decode_step_ab lines: us per layer per mode).
  echo "== decode weight staging: GPU tests, DecodeStepBench ab"
  timeout "${GPU_TEST_STAGING_TIMEOUT:-180}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner --details=tree \
    --class-path "$CP" --select-class dev.glimpse.kernels.cuda.CudaWeightStagingTest > "$LOGS/staging-tests.log" 2>&1
  echo "CudaWeightStagingTest exit: $?"
  grep -E "tests (successful|failed|skipped)|✘|Exception|expected" "$LOGS/staging-tests.log" | head -30
  timeout 150 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.kernels.cuda.bench.DecodeStepBench ab \
    glimpse.cuda.decodeWeightStaging off staged early > "$LOGS/decode-staging.jsonl" 2> "$LOGS/decode-staging.err"
  echo "DecodeStepBench ab decodeWeightStaging exit: $?"; tail -3 "$LOGS/decode-staging.err"
  cat "$LOGS/decode-staging.jsonl"
fi

if has pixels; then
  # Page-locked staging tensors (-Dglimpse.cuda.pinnedStaging, default on) and
  # device-side pixel normalization (-Dglimpse.cuda.devicePixels, default on), each test class in its own JVM, then the
  # final form of CudaWeightStagingTest. Measure them with bench-llava.sh's in-process A/B, e.g.
  # LLAVA_BENCH_INPROC_AB="base=;host=glimpse.cuda.devicePixels=false;plain=glimpse.cuda.pinnedStaging=false".
  echo "== pinned staging, device pixels, weight staging: GPU tests"
  for c in dev.glimpse.kernels.cuda.CudaPinnedStagingTest dev.glimpse.kernels.cuda.CudaPixelNormalizationTest \
      dev.glimpse.vlmruntime.gpu.CudaDevicePixelsTest dev.glimpse.kernels.cuda.CudaWeightStagingTest; do
    log="$LOGS/pixels-${c##*.}.log"
    timeout "${GPU_TEST_CLASS_TIMEOUT:-150}" "$JAVA" "${JFLAGS[@]}" -jar "$JUNIT" execute --disable-banner \
      --details=tree --class-path "$CP" --select-class "$c" > "$log" 2>&1
    echo "$c exit: $? ($(grep -E '[0-9]+ tests (successful|failed|skipped)' "$log" | tr -s ' ' | tr '\n' ' '))"
    grep -E "✘|Exception|expected:" "$log" | head -10
  done
fi

if has visiontower; then
  echo "== vision tower benchmark (SigLIP so400m x 32 frames, CLIP-L/336; GEMM epilogues on vs off, layout, towerLean)"
  timeout 300 "$JAVA" "${JFLAGS[@]}" -cp "$CP" dev.glimpse.visionencoder.bench.CudaVisionTowerBench \
    --shapes siglip-so400m-32,clip-l-336 --rounds 7 --calls 5 > "$LOGS/vision-tower.jsonl" 2> "$LOGS/vision-tower.err"
  echo "vision tower bench exit: $?"; tail -3 "$LOGS/vision-tower.err"; cat "$LOGS/vision-tower.jsonl"
fi

if has cli; then
  # The `glimpse` command line as a user runs it (ask, logits, serve; --device cuda and auto; the memory budget, no
  # visible device, a corrupt image) on the LLaVA and OneVision parity fixtures, against the CPU and HF
  # transformers: tools/device/cli_check.py. Needs bundle/cli (tools/device/bundle-cli.sh) carried too.
  echo "== the glimpse command line on the GPU (tools/device/cli_check.py)"
  if [ -f bundle/cli/cli.tar.xz ]; then
    tar -xJf bundle/cli/cli.tar.xz -C "$WORK"
    timeout "${GPU_TEST_CLI_TIMEOUT:-400}" python3 tools/device/cli_check.py --java "$JAVA" \
      --cp "$CP:$(ls "$WORK"/cli/*.jar | tr '\n' ':' | sed 's/:$//')" --out "$LOGS/cli" ${GPU_TEST_CLI_ARGS:-} 2>&1 | tee "$LOGS/cli-check.log"
    grep -h -E '^(FAIL|cli checks)' "$LOGS/cli-check.log" >> "$LOGS/cli-summary.txt"
  else
    echo "cli: no bundle/cli/cli.tar.xz (run tools/device/bundle-cli.sh and carry bundle/cli)" | tee "$LOGS/cli-summary.txt"
  fi
fi

python3 tools/device/summarize.py "$LOGS/tests.log" "$LOGS/topk-glimpse.jsonl" "$LOGS/topk-torch.jsonl" \
  "$LOGS/model-tests.log" "$LOGS/decoder-bench.jsonl" > "$LOGS/summary.txt" 2>&1
grep -h '"bench":"gemv_summary"' "$LOGS/gemv-bench.jsonl" >> "$LOGS/summary.txt"
# KernelTimelineTest / CudaKernelTimelineModelTest: each recorded pass's cuda_timeline line, and whether CUPTI saw
# the nodes of a graph instantiated before it started (the tables are in the logs)
grep -h -E '^TIMELINE (\{|graph)' "$LOGS/tests.log" "$LOGS/model-tests.log" >> "$LOGS/summary.txt"
[ -f "$LOGS/cli-summary.txt" ] && cat "$LOGS/cli-summary.txt" >> "$LOGS/summary.txt"
cat "$LOGS/machine.txt" "$LOGS/summary.txt" > "$OUT/summary.txt"
tar -C "$(dirname "$LOGS")" -czf "$OUT/results.tar.gz" "$(basename "$LOGS")"
echo "================ SUMMARY"
cat "$OUT/summary.txt"
