#!/usr/bin/env bash
# Builds train-data/ (git-ignored; carried to the GPU machine by run_on_device.sh's caller):
#   train-data/jre.tar.xz         jlinked Java 25 runtime (java.base + java.desktop for Java2D), ~21 MB
#   train-data/lib/*.jar          the exporter, eval-harness, kernels (RgbImage), Jackson, ~3 MB
#   train-data/validation-clips/  validation clips as the mp4 files evaluation decodes (the clip
#                                 frames used for training are lossless; these measure the gap)
# The synthetic images themselves are rendered on the device by TrainingDataExport (65 KB per PNG
# would not fit the 64 MiB carry). Needs ./glimpse's build (app/target/lib).
#   tools/train/make_train_bundle.sh [VALIDATION_CLIPS=100]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
VAL_CLIPS="${1:-100}"
OUT="$ROOT/train-data"
LIB="$ROOT/app/target/lib"
./glimpse --version >/dev/null   # builds the app (and app/target/lib) when sources changed
mkdir -p "$OUT/lib"
rm -f "$OUT"/lib/*.jar
CP="$LIB/eval-harness-0.1.0-SNAPSHOT.jar:$LIB/kernels-0.1.0-SNAPSHOT.jar:$LIB/jackson-databind-2.23.0.jar:$LIB/jackson-core-2.23.0.jar:$LIB/jackson-annotations-2.23.jar"
tmp="$(mktemp -d)"
"$JAVA_HOME/bin/javac" --release 25 -cp "$CP" -d "$tmp" tools/train/TrainingDataExport.java
"$JAVA_HOME/bin/jar" --create --file "$OUT/lib/training-data-export.jar" -C "$tmp" .
rm -rf "$tmp"
for j in ${CP//:/ }; do cp "$j" "$OUT/lib/"; done

if [ ! -f "$OUT/jre.tar.xz" ] || [ "$JAVA_HOME/release" -nt "$OUT/jre.tar.xz" ]; then
  echo "train bundle: jlinking the runtime"
  rm -rf "$OUT/jre"
  "$JAVA_HOME/bin/jlink" --add-modules java.base,java.desktop --strip-debug --no-header-files \
    --no-man-pages --compress=zip-0 --output "$OUT/jre"
  tar -C "$OUT" -cf - jre | xz -T2 -6 > "$OUT/jre.tar.xz"
  rm -rf "$OUT/jre"
fi
if [ ! -f "$OUT/validation-clips/validation.jsonl" ] || [ "$(grep -c . "$OUT/validation-clips/validation.jsonl")" -ne $((3 * VAL_CLIPS)) ]; then
  rm -rf "$OUT/validation-clips"
  ./glimpse eval synth-export --split validation --kind clips --count "$VAL_CLIPS" --out "$OUT/validation-clips"
fi
du -sh "$OUT" "$OUT"/*
