#!/usr/bin/env bash
# Builds bundle/ (git-ignored) for a GPU machine that has no JDK or Maven: a jlinked Java 25
# runtime as .tar.xz, the kernels jar and its test classes, and only the dependency jars the GPU
# tests and benchmarks need (linux-x86_64 natives of JavaCPP's CUDA bindings; OpenBLAS's natives
# are left out, the CPU reference then uses its Vector API GEMM). Run here, then on the device:
#   run(carry: ["bundle"], command: "bash tools/device/gpu-test.sh")
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
export JAVA_HOME="${JAVA_HOME_25:-/usr/lib/jvm/temurin-25-jdk-amd64}"
TARGET="${GLIMPSE_BUNDLE_TARGET:-target-cuda}"
BUNDLE="$ROOT/bundle"
mkdir -p "$BUNDLE/lib"
rm -f "$BUNDLE"/lib/*.jar

echo "bundle: building kernels (into kernels/$TARGET)"
mvn -B -q -o -pl kernels -Dglimpse.target="$TARGET" -DskipTests package dependency:build-classpath \
  -Dmdep.outputFile="$ROOT/kernels/$TARGET/classpath.txt" 2>&1 | grep -v '^WARNING' || true
cp "kernels/$TARGET"/kernels-*.jar "$BUNDLE/lib/kernels.jar"
"$JAVA_HOME/bin/jar" --create --file "$BUNDLE/lib/kernels-tests.jar" -C "kernels/$TARGET/test-classes" .
tr ':' '\n' < "kernels/$TARGET/classpath.txt" | grep -E '/(javacpp|cuda|openblas|slf4j-api)-[^/]*\.jar$' \
  | grep -v 'openblas-.*-linux' | xargs -I{} cp {} "$BUNDLE/lib/"
M2="${MAVEN_REPO:-$HOME/.m2/repository}"
cp "$M2/org/slf4j/slf4j-simple/2.0.20/slf4j-simple-2.0.20.jar" "$BUNDLE/lib/"
JUNIT="$M2/org/junit/platform/junit-platform-console-standalone/1.14.4/junit-platform-console-standalone-1.14.4.jar"
[ -f "$JUNIT" ] || mvn -B -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.4
cp "$JUNIT" "$BUNDLE/junit-console.jar"

if [ ! -f "$BUNDLE/jre.tar.xz" ] || [ "$JAVA_HOME/release" -nt "$BUNDLE/jre.tar.xz" ]; then
  echo "bundle: jlinking the runtime"
  rm -rf "$BUNDLE/jre"
  "$JAVA_HOME/bin/jlink" --add-modules java.base,jdk.unsupported,java.logging,java.management,jdk.incubator.vector,java.xml,jdk.zipfs \
    --strip-debug --no-header-files --no-man-pages --compress=zip-9 --output "$BUNDLE/jre"
  tar -C "$BUNDLE" -cJf "$BUNDLE/jre.tar.xz" jre
  rm -rf "$BUNDLE/jre"
fi
git rev-parse HEAD > "$BUNDLE/COMMIT" 2>/dev/null || echo unknown > "$BUNDLE/COMMIT"
if ! git diff --quiet HEAD -- kernels tools 2>/dev/null; then echo "(with uncommitted changes)" >> "$BUNDLE/COMMIT"; fi
du -sh "$BUNDLE"; ls -la "$BUNDLE" "$BUNDLE/lib"
