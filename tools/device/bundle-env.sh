# Sourced by gpu-test.sh and bench-llava.sh (on the GPU machine): finds the carried bundle in
# either layout and unpacks it.
#   old layout, carry ["bundle"]:         bundle/jre.tar.xz, bundle/lib/*.jar, bundle/junit-console.jar
#   packed layout, carry ["bundle/packed"]: bundle/packed/jre.tar.xz, bundle/packed/lib.tar.xz (holding
#                                         lib/*.jar and junit-console.jar), COMMIT, jre.modules
# bundle_setup DIR WORK: DIR is the bundle folder (bundle, bundle/packed or a slim copy), WORK an
# empty temporary folder. The packed form wins when DIR has both: with carry ["bundle/packed"] a
# warm machine may still hold a stale bundle/lib from an earlier call. Unpacks the runtime (and
# lib.tar.xz) under WORK and sets
#   BUNDLE_DIR (the folder holding jre.tar.xz and COMMIT), JAVA, LIB (the folder of jars),
#   CP (the tree's kernels/src/main/resources, then LIB's jars, joined with ':') and JUNIT (junit-console.jar; empty when the bundle has none).
# Returns non-zero with a message on stderr when DIR holds neither layout.
bundle_setup() {
  local dir="$1" work="$2"
  if [ ! -f "$dir/lib.tar.xz" ] && [ -f "$dir/packed/lib.tar.xz" ]; then
    dir="$dir/packed"
  fi
  if [ -f "$dir/lib.tar.xz" ] && [ -f "$dir/jre.tar.xz" ]; then
    BUNDLE_DIR="$dir"
    mkdir -p "$work/bundle"
    tar -xJf "$dir/lib.tar.xz" -C "$work/bundle" || return 1
    LIB="$work/bundle/lib"
    JUNIT="$work/bundle/junit-console.jar"
  elif [ -d "$dir/lib" ] && [ -f "$dir/jre.tar.xz" ]; then
    BUNDLE_DIR="$dir"
    LIB="$dir/lib"
    JUNIT="$dir/junit-console.jar"
  else
    echo "bundle_setup: no bundle in $1 (want lib.tar.xz + jre.tar.xz, packed/ holding them, or lib/ + jre.tar.xz)" >&2
    return 1
  fi
  [ -f "$JUNIT" ] || JUNIT=""
  tar -xJf "$BUNDLE_DIR/jre.tar.xz" -C "$work" || return 1
  JAVA="$work/jre/bin/java"
  CP="$(ls "$LIB"/*.jar | tr '\n' ':')"
  CP="${CP%:}"
  # the packed kernels.jar leaves its *.fatbin modules to the carried tree (bundle.sh): the tree's
  # resources come first, so they are also what a changed, rebuilt fatbin in the tree loads
  local resources
  resources="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/kernels/src/main/resources"
  [ -d "$resources" ] && CP="$resources:$CP"
  echo "bundle: $BUNDLE_DIR ($(ls "$LIB"/*.jar | wc -l) jars in $LIB)" >&2
}
