#!/usr/bin/env bash
# Trains the demo model ON the GPU machine (run from the repo root there), with train-data/ carried:
#   tools/train/make_train_bundle.sh            # here: JRE + exporter jars + validation mp4s (~25 MB)
#   run(carry: ["train-data"], command: "bash tools/train/run_on_device.sh", timeout_s: 600)
# Renders the training images and clip frames with the Java generator (TrainingDataExport on the
# carried JRE, all cores), trains (tools/train/train_demo.py --preset device), and writes to $OUT:
#   train.log, metrics.json, glimpse-demo.tar.gz.part-* (split below the 16 MiB per-file limit)
# Unpack here: cat OUTDIR/glimpse-demo.tar.gz.part-* | tar -xz -C models/
# Environment: IMAGES (default 50000), CLIPS (3000), VAL_IMAGES (1000), EXTRA (more train_demo.py args).
set -euo pipefail
OUT="${OUT:?run through the device tool: \$OUT is where results go}"
IMAGES="${IMAGES:-50000}"
CLIPS="${CLIPS:-3000}"
VAL_IMAGES="${VAL_IMAGES:-1000}"
WORK="${WORK:-/tmp/glimpse-train}"
mkdir -p "$WORK/data" "$WORK/trained"
exec > >(tee "$OUT/train.log") 2>&1
echo "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown); $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo no GPU); $(nproc) cores"
t0=$(date +%s)
tar -C "$WORK" -xJf train-data/jre.tar.xz
JAVA=("$WORK/jre/bin/java" -Djava.awt.headless=true -cp "train-data/lib/*" TrainingDataExport)
"${JAVA[@]}" train images 0 "$IMAGES" "$WORK/data"
"${JAVA[@]}" train clips 0 "$CLIPS" "$WORK/data"
"${JAVA[@]}" validation images 0 "$VAL_IMAGES" "$WORK/data"
echo "== export: $(( $(date +%s) - t0 )) s, $(du -sh "$WORK/data" | cut -f1)"
status=0
python3 tools/train/train_demo.py --preset device --data "$WORK/data" --val-clips train-data/validation-clips \
  --out "$WORK/trained" --set images="$IMAGES" --set clips="$CLIPS" --set val_images="$VAL_IMAGES" ${EXTRA:-} || status=$?
cp "$WORK/trained/metrics.json" "$OUT/" 2>/dev/null || true
if [ -f "$WORK/trained/glimpse-demo/model.safetensors" ]; then   # saved before the final checks: keep it even if they fail
  tar -C "$WORK/trained" -czf - glimpse-demo | split -b 15m -d - "$OUT/glimpse-demo.tar.gz.part-"
fi
ls -la "$OUT"
echo "== total $(( $(date +%s) - t0 )) s, train_demo.py exit $status"
exit "$status"
