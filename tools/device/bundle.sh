#!/usr/bin/env bash
# Builds bundle/ (git-ignored) for a GPU machine that has no JDK or Maven: a jlinked Java 25
# runtime as .tar.xz, the Glimpse jars (kernels, vision-encoder, video-ingest, token-pruning,
# vlm-runtime) with the kernels and vlm-runtime test classes, and only the dependency jars the GPU
# tests and benchmarks need: linux-x86_64 natives of JavaCPP's CUDA bindings and of DJL's
# tokenizer; OpenBLAS's natives are left out (the CPU reference then uses its Vector API GEMM), and
# so are OpenCV's and FFmpeg's (the GPU tests decode the fixture PNGs with ImageIO). Run here, then:
#   run(carry: ["bundle"], command: "bash tools/device/gpu-test.sh")
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
for m in kernels vlm-runtime; do
  "$JAVA_HOME/bin/jar" --create --file "$BUNDLE/lib/$m-tests.jar" -C "$m/$TARGET/test-classes" .
done
tr ':' '\n' < "vlm-runtime/$TARGET/classpath.txt" | grep '\.jar$' | grep -v '/dev/glimpse/' \
  | grep -Ev '/(opencv|ffmpeg|tokenizers|junit-[a-z-]*|opentest4j|apiguardian-api)-[^/]*\.jar$' | grep -v -- '-SNAPSHOT\.jar$' | grep -Ev '/openblas-[^/]*-linux' | xargs -I{} cp {} "$BUNDLE/lib/"
TOKENIZERS="$(tr ':' '\n' < "vlm-runtime/$TARGET/classpath.txt" | grep -E '/tokenizers-[^/]*\.jar$')"
cp "$TOKENIZERS" "$BUNDLE/lib/tokenizers.jar"
zip -q -d "$BUNDLE/lib/tokenizers.jar" 'native/lib/win-*' 'native/lib/osx-*' 'native/lib/linux-aarch64/*' || true
M2="${MAVEN_REPO:-$HOME/.m2/repository}"
cp "$M2/org/slf4j/slf4j-simple/2.0.20/slf4j-simple-2.0.20.jar" "$BUNDLE/lib/"
JUNIT="$M2/org/junit/platform/junit-platform-console-standalone/1.14.4/junit-platform-console-standalone-1.14.4.jar"
[ -f "$JUNIT" ] || mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4
cp "$JUNIT" "$BUNDLE/junit-console.jar"

JMODS=java.base,jdk.unsupported,java.logging,java.management,jdk.incubator.vector,java.xml,jdk.zipfs
if [ "$(cat "$BUNDLE/jre.modules" 2>/dev/null)" != "$JMODS zip-0" ]; then
  rm -f "$BUNDLE/jre.tar.xz"
fi
if [ ! -f "$BUNDLE/jre.tar.xz" ] || [ "$JAVA_HOME/release" -nt "$BUNDLE/jre.tar.xz" ]; then
  echo "bundle: jlinking the runtime"
  rm -rf "$BUNDLE/jre"
  "$JAVA_HOME/bin/jlink" --add-modules "$JMODS" \
    --strip-debug --no-header-files --no-man-pages --compress=zip-0 --output "$BUNDLE/jre"
  tar -C "$BUNDLE" -cf - jre | xz -T2 -9 > "$BUNDLE/jre.tar.xz"
  rm -rf "$BUNDLE/jre"
  echo "$JMODS zip-0" > "$BUNDLE/jre.modules"
fi
git rev-parse HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"
if ! git diff --quiet HEAD -- kernels vision-encoder vlm-runtime tools 2>/dev/null; then echo "(with uncommitted changes)" >> "$BUNDLE/COMMIT"; fi
du -sh "$BUNDLE"; ls -la "$BUNDLE" "$BUNDLE/lib"
