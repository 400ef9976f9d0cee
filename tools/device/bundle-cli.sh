#!/usr/bin/env bash
# Adds what the `glimpse` command line needs on the GPU machine to a packed bundle (tools/device/bundle.sh first):
# bundle/cli/cli.tar.xz holds cli/*.jar, the jars of the app's runtime class path that bundle/packed/lib.tar.xz
# lacks (the app and the modules only it uses, picocli, JavaCV/OpenCV/FFmpeg's Java classes), with the native
# libraries an image request loads and nothing else:
#   - OpenCV: core, imgproc and imgcodecs (image decoding), their JNI libraries, symbols stripped;
#   - OpenBLAS: libopenblas.so.0, the Fortran runtime it links and the JNI libraries JavaCPP loads for
#     OpenCV's core (opencv_core's classes load the openblas bindings; 1.7 MB packed), not libjniopenblas_full;
#   - no FFmpeg natives (27 MB; video requests are not part of the check).
# Used by gpu-test.sh's part "cli" (tools/device/cli_check.py: `ask`, `logits` and `serve` with --device cuda|auto
# on the parity fixtures, against the CPU and HF transformers):
#   bash tools/device/bundle.sh && bash tools/device/bundle-cli.sh
#   SLIM_PATHS="models/glimpse-demo/model.safetensors bench/results" bash tools/device/slim-tree.sh on
#   run(carry: ["bundle/packed", "bundle/cli"], command: "GPU_TEST_PARTS=cli bash tools/device/gpu-test.sh")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME_25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
TARGET="${GLIMPSE_BUNDLE_TARGET:-target-cuda}"
[ -f bundle/packed/lib.tar.xz ] || { echo "bundle-cli: run tools/device/bundle.sh first (no bundle/packed/lib.tar.xz)" >&2; exit 1; }

echo "bundle-cli: building app (into */$TARGET)"
mvn -B -q -o -pl app -am -Dglimpse.target="$TARGET" -DskipTests package 2>&1 | grep -v '^WARNING' || true
APPLIB="app/$TARGET/lib"
[ -f "app/$TARGET/glimpse-app.jar" ] && [ -d "$APPLIB" ] || { echo "bundle-cli: app build failed" >&2; exit 1; }

STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/cli" "$STAGE/x"
have="$(tar -tJf bundle/packed/lib.tar.xz | sed -n 's|^lib/||p' | sed -E 's/-[0-9][0-9.]*.*\.jar$//; s/\.jar$//' | sort -u)"
# stored (zip -0) copies of FILES from SRC's tree under X, so that xz packs them as it packs bundle.sh's jars
stored() {
  local dest="$1" dir="$2"
  (cd "$dir" && find . -type f | sed 's|^\./||' | sort | zip -q -0 -X -@ "$dest")
}
cp "app/$TARGET/glimpse-app.jar" "$STAGE/x/app.jar"
(cd "$STAGE/x" && mkdir u && cd u && unzip -q ../app.jar && stored "$STAGE/cli/app.jar" .)
for j in "$APPLIB"/*.jar; do
  b="$(basename "$j")"
  name="$(echo "$b" | sed -E 's/-[0-9][0-9.]*.*\.jar$//; s/\.jar$//')"
  case "$b" in
    ffmpeg-*-linux-*.jar|openblas-*-linux-*.jar|opencv-*-linux-*.jar) continue ;;   # natives: below
    annotations-*|checker-qual-*|error_prone_annotations-*|j2objc-annotations-*|jsr305-*|listenablefuture-*|derive4j-*|encode-2*) continue ;;
  esac
  grep -qxF "$name" <<< "$have" && continue
  rm -rf "$STAGE/x/u" && mkdir "$STAGE/x/u"
  (cd "$STAGE/x/u" && unzip -q "$ROOT/$j" && stored "$STAGE/cli/$b" .)
done
# native_jar SRC DEST PLATFORM_DIR FILE...: DEST holds SRC's META-INF and only the named files of PLATFORM_DIR, stripped
native_jar() {
  local src="$1" dest="$2" dir="$3"; shift 3
  rm -rf "$STAGE/x/u" && mkdir -p "$STAGE/x/u"
  (cd "$STAGE/x/u" && unzip -q "$ROOT/$src" 'META-INF/*' && for f in "$@"; do unzip -q "$ROOT/$src" "$dir/$f"; done \
    && find "$dir" -name '*.so*' -exec strip --strip-unneeded {} \; && stored "$dest" .)
}
OPENCV="$(ls "$APPLIB"/opencv-*-linux-x86_64.jar)"
native_jar "$OPENCV" "$STAGE/cli/$(basename "$OPENCV")" org/bytedeco/opencv/linux-x86_64 \
  libjniopencv_core.so libjniopencv_imgproc.so libjniopencv_imgcodecs.so \
  libopencv_core.so.413 libopencv_imgproc.so.413 libopencv_imgcodecs.so.413
OPENBLAS="$(ls "$APPLIB"/openblas-*-linux-x86_64.jar)"
native_jar "$OPENBLAS" "$STAGE/cli/$(basename "$OPENBLAS")" org/bytedeco/openblas/linux-x86_64 \
  libjniopenblas.so libjniopenblas_nolapack.so libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgcc_s.so.1
mkdir -p bundle/cli
tar -C "$STAGE" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - cli | xz -9e -T2 > bundle/cli/cli.tar.xz
cp bundle/packed/COMMIT bundle/cli/COMMIT
ls -l "$STAGE/cli" bundle/cli
TREE="$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | awk '$2=="total"{t+=$1} END{print t+0}')"
PACK="$(du -cb bundle/packed/* bundle/cli/* | tail -1 | cut -f1)"
echo "bundle-cli: packed + cli $PACK bytes; tree $TREE bytes; carry total ~ $((TREE + PACK)) bytes of 67108864 (64 MiB)"
