#!/usr/bin/env bash
# Builds bundle/ (git-ignored) for a GPU machine that has no JDK or Maven: a jlinked Java 25
# runtime as .tar.xz, the Glimpse jars (kernels, vision-encoder, video-ingest, token-pruning,
# vlm-runtime) with the kernels, vision-encoder and vlm-runtime test classes, and only the dependency jars the GPU
# tests and benchmarks need: linux-x86_64 natives of JavaCPP's CUDA bindings and of DJL's
# tokenizer (and JNA's); OpenBLAS is left out, classes and natives (BlasGemm catches the failed load and the CPU
# reference uses its Vector API GEMM), and
# so are OpenCV's and FFmpeg's (the GPU tests decode the fixture PNGs with ImageIO).
# bundle/ keeps its old layout (jre.tar.xz, lib/, junit-console.jar), which no longer fits the 64 MiB
# next to the tree (the demo model is committed), so it also writes bundle/packed/: jre.tar.xz (a
# hard link), lib.tar.xz (lib/*.jar + junit-console.jar, every jar re-zipped stored so that xz
# compresses across them, JavaCPP's CUDA natives jar cut to the JNI libraries of the presets the
# code loads: cudart and cublas, plus nvrtc's and cupti's, and the bindings' Java classes likewise), COMMIT and jre.modules. Run here, then carry that:
#   run(carry: ["bundle/packed"], command: "bash tools/device/gpu-test.sh")
#   run(carry: ["bundle/packed"], command: "bash tools/device/bench-llava.sh")
# (tools/device/bundle-env.sh unpacks either layout on the device.) BUNDLE_KEEP_JNI (default
# "cudart|cublas|nvrtc|cupti") names the libjni<name>.so of the CUDA natives jar to keep.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME_25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
TARGET="${GLIMPSE_BUNDLE_TARGET:-target-cuda}"
BUNDLE="$ROOT/bundle"
mkdir -p "$BUNDLE/lib"
rm -f "$BUNDLE"/lib/*.jar

MODULES=kernels,vision-encoder,video-ingest,token-pruning,vlm-runtime
echo "bundle: building $MODULES (into */$TARGET)"
mvn -B -q -o -pl "$MODULES" -Dglimpse.target="$TARGET" -DskipTests package dependency:build-classpath \
  -Dmdep.includeScope=runtime -Dmdep.outputFile="$TARGET/classpath.txt" 2>&1 | grep -v '^WARNING' || true
for m in ${MODULES//,/ }; do
  cp "$m/$TARGET/$m"-*.jar "$BUNDLE/lib/$m.jar"
done
for m in kernels vision-encoder vlm-runtime; do
  "$JAVA_HOME/bin/jar" --create --file "$BUNDLE/lib/$m-tests.jar" -C "$m/$TARGET/test-classes" .
done
tr ':' '\n' < "vlm-runtime/$TARGET/classpath.txt" | grep '\.jar$' | grep -v '/dev/glimpse/' \
  | grep -Ev '/(opencv|ffmpeg|tokenizers|junit-[a-z-]*|opentest4j|apiguardian-api)-[^/]*\.jar$' | grep -v -- '-SNAPSHOT\.jar$' | grep -Ev '/openblas-[^/]*\.jar$' | xargs -I{} cp {} "$BUNDLE/lib/"
# Annotation-only jars (compile-time, never loaded at run time): ~0.8 MB stored, less to carry.
rm -f "$BUNDLE"/lib/{annotations-3,checker-qual-,derive4j-annotation-,error_prone_annotations-,j2objc-annotations-,jsr305-,encode-2,listenablefuture-}*.jar
TOKENIZERS="$(tr ':' '\n' < "vlm-runtime/$TARGET/classpath.txt" | grep -E '/tokenizers-[^/]*\.jar$')"
cp "$TOKENIZERS" "$BUNDLE/lib/tokenizers.jar"
zip -q -d "$BUNDLE/lib/tokenizers.jar" 'native/lib/win-*' 'native/lib/osx-*' 'native/lib/linux-aarch64/*' || true
# its libtokenizers.so ships its symbol table too: stripped, 0.39 MB less packed
STRIP_DIR="$(mktemp -d)"
(cd "$STRIP_DIR" && unzip -q "$BUNDLE/lib/tokenizers.jar" 'native/lib/linux-x86_64/*' \
  && find native -name '*.so' -exec strip --strip-unneeded {} \; && zip -q "$BUNDLE/lib/tokenizers.jar" -r native) || true
rm -rf "$STRIP_DIR"
# JNA's dispatch library for every other platform (5 MB of 5.8) is dead weight on the linux-x86-64 device.
for j in "$BUNDLE"/lib/jna-*.jar; do
  [ -f "$j" ] || continue
  unzip -Z1 "$j" | grep -E '^com/sun/jna/[^/]+/(lib)?jnidispatch' | grep -v '^com/sun/jna/linux-x86-64/' \
    | xargs -r zip -q -d "$j" || true
done
M2="${MAVEN_REPO:-$HOME/.m2/repository}"
cp "$M2/org/slf4j/slf4j-simple/2.0.20/slf4j-simple-2.0.20.jar" "$BUNDLE/lib/"
JUNIT="$M2/org/junit/platform/junit-platform-console-standalone/1.14.4/junit-platform-console-standalone-1.14.4.jar"
[ -f "$JUNIT" ] || mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4
cp "$JUNIT" "$BUNDLE/junit-console.jar"

# java.desktop: jinjava (chat templates) needs java.beans; without it a test that applies a model's chat template
# failed on the device with NoClassDefFoundError java/beans/IntrospectionException (2026-11-29). jdk.httpserver: `serve`
# (gpu-test.sh's part "cli", with bundle-cli.sh's jars).
JMODS=java.base,jdk.unsupported,java.logging,java.management,jdk.incubator.vector,java.xml,jdk.zipfs,jdk.jfr,java.desktop,jdk.httpserver
if [ "$(cat "$BUNDLE/jre.modules" 2>/dev/null)" != "$JMODS zip-0 stripped 9e" ]; then
  rm -f "$BUNDLE/jre.tar.xz"
fi
if [ ! -f "$BUNDLE/jre.tar.xz" ] || [ "$JAVA_HOME/release" -nt "$BUNDLE/jre.tar.xz" ]; then
  echo "bundle: jlinking the runtime"
  rm -rf "$BUNDLE/jre"
  "$JAVA_HOME/bin/jlink" --add-modules "$JMODS" \
    --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output "$BUNDLE/jre"
  # libjvm.so ships its symbol table: stripped, the packed runtime is ~0.96 MB smaller (the carry limit)
  find "$BUNDLE/jre" -name '*.so' -exec strip --strip-unneeded {} \;
  tar -C "$BUNDLE" --sort=name -cf - jre | xz -T2 -9e > "$BUNDLE/jre.tar.xz"
  rm -rf "$BUNDLE/jre"
  echo "$JMODS zip-0 stripped 9e" > "$BUNDLE/jre.modules"
fi
git rev-parse HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"
if ! git diff --quiet HEAD -- kernels vision-encoder vlm-runtime tools 2>/dev/null; then echo "(with uncommitted changes)" >> "$BUNDLE/COMMIT"; fi
du -sh "$BUNDLE"; ls -la "$BUNDLE" "$BUNDLE/lib"

# bundle/packed: the form to carry. JavaCPP loads org/bytedeco/cuda/linux-x86_64/libjni<preset>.so
# per preset class; the code loads only cudart (runtime + driver API) and cublas (Cuda.load()), and
# cupti for the opt-in kernel timeline (KernelTimeline.start(); libcupti.so.13 itself comes from the
# device's toolkit, bundle-env.sh cupti_dir), so the other presets' JNI libraries (NPP, cuFFT,
# cuRAND, cuSolver, cuSparse, cuDNN, NCCL, NVML, ...) are dropped. nvrtc's is kept (small; runtime
# compilation may come back).
KEEP_JNI="${BUNDLE_KEEP_JNI:-cudart|cublas|nvrtc|cupti}"
PACKED="$BUNDLE/packed"
STAGE="$(mktemp -d)"
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE/pack/lib" "$PACKED"
# restore SRC DEST DROPLIST: DEST = SRC's entries in SRC's order, less the entries named (whole
# lines) in the file DROPLIST, stored (zip -0) with SRC's timestamps
restore() {
  local src dest; src="$(realpath "$1")"; dest="$(realpath -m "$2")"
  rm -rf "$STAGE/x"; mkdir "$STAGE/x"
  unzip -q -o "$src" -d "$STAGE/x" || [ $? -eq 1 ]
  rm -f "$dest"
  (cd "$STAGE/x" && unzip -Z1 "$src" | grep -vxF -f "$3" | zip -q -0 -X -@ "$dest")
}
for j in "$BUNDLE"/lib/*.jar; do
  case "$(basename "$j")" in
    cuda-*-linux-x86_64.jar)
      unzip -Z1 "$j" | grep -E 'org/bytedeco/cuda/linux-x86_64/libjni[^/]*\.so$|META-INF/native-image/linux-x86_64/jni[^/]*/' \
        | grep -Ev "org/bytedeco/cuda/linux-x86_64/libjni($KEEP_JNI)\.so\$|META-INF/native-image/linux-x86_64/jni($KEEP_JNI)/" \
        > "$STAGE/drop.txt" || true
      restore "$j" "$STAGE/pack/lib/$(basename "$j")" "$STAGE/drop.txt"
      echo "bundle: $(basename "$j"): kept $(unzip -Z1 "$STAGE/pack/lib/$(basename "$j")" | grep -oE 'libjni[a-z0-9_]*\.so' | tr '\n' ' ')"
      echo "bundle:   dropped $(grep -oE 'libjni[a-z0-9_]*\.so' "$STAGE/drop.txt" | tr '\n' ' ')" ;;
    cuda-*.jar)
      # The bindings' Java classes of the presets the code does not load (NPP, cuSolver, cuSparse,
      # cuDNN, NVML, nvCOMP, ...): 4 of its 5.8 MB.
      unzip -Z1 "$j" | grep -E '^org/bytedeco/cuda/(global/[a-z0-9_]+\.class|[a-z0-9_]+/.)' \
        | grep -Ev "^org/bytedeco/cuda/(presets/|global/($KEEP_JNI)\.class\$|($KEEP_JNI)/)" > "$STAGE/drop.txt" || true
      restore "$j" "$STAGE/pack/lib/$(basename "$j")" "$STAGE/drop.txt"
      echo "bundle: $(basename "$j"): dropped $(wc -l < "$STAGE/drop.txt") entries of other presets" ;;
    kernels.jar)
      # The kernel modules (*.fatbin, ~3.1 MB that xz cannot shrink) travel in the tree already:
      # bundle_setup puts kernels/src/main/resources on the classpath instead.
      unzip -Z1 "$j" | grep -E '^dev/glimpse/kernels/cuda/[^/]+\.fatbin$' > "$STAGE/drop.txt" || true
      restore "$j" "$STAGE/pack/lib/kernels.jar" "$STAGE/drop.txt"
      echo "bundle: kernels.jar: $(wc -l < "$STAGE/drop.txt") fatbins left to the tree's resources" ;;
    *) restore "$j" "$STAGE/pack/lib/$(basename "$j")" /dev/null ;;
  esac
done
restore "$BUNDLE/junit-console.jar" "$STAGE/pack/junit-console.jar" /dev/null
echo "bundle: stored jars $(du -sb "$STAGE/pack" | cut -f1) bytes; xz -9"
tar -C "$STAGE/pack" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf - lib junit-console.jar \
  | xz -9e -T1 > "$PACKED/lib.tar.xz.tmp"
mv "$PACKED/lib.tar.xz.tmp" "$PACKED/lib.tar.xz"
ln -f "$BUNDLE/jre.tar.xz" "$PACKED/jre.tar.xz" 2>/dev/null || cp "$BUNDLE/jre.tar.xz" "$PACKED/jre.tar.xz"
cp "$BUNDLE/COMMIT" "$BUNDLE/jre.modules" "$PACKED/"
TREE="$( (git ls-files -z; git ls-files -z --others --exclude-standard) | xargs -0 du -cb 2>/dev/null | awk '$2=="total"{t+=$1} END{print t+0}')"
PACK="$(du -cb "$PACKED"/* | tail -1 | cut -f1)"
ls -l "$PACKED"
echo "bundle: packed $PACK bytes; tree (tracked + untracked-not-ignored) $TREE bytes;" \
  "carry total ~ $((TREE + PACK)) bytes of 67108864 (64 MiB)"
if [ $((TREE + PACK)) -gt 65000000 ]; then
  echo "bundle: within 2 MiB of a device call's 64 MiB (the run tool's count runs a little higher than this one):" \
    "bash tools/device/slim-tree.sh on before the calls, off after"
fi
