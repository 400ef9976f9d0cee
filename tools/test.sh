#!/usr/bin/env bash
# The test command: builds every module and runs all tests under a JDK >= 25 (mvn -B verify).
# Extra arguments go to Maven, e.g. tools/test.sh -pl kernels
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/find-jdk.sh
glimpse_find_jdk
export JAVA_HOME="$GLIMPSE_JAVA_HOME"
export RUST_FLAVOR=cpu DJL_OFFLINE=true
exec mvn -B verify "$@"
