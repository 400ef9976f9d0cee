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

# cupti_dir: prints the folder holding libcupti.so.13, which the kernel timeline (KernelTimeline,
# CudaLlavaBench --timeline, tools/device/timeline.sh) loads through JavaCPP's cupti preset; the
# bundle carries only the JNI side (libjnicupti.so). Looked for in $CUPTI_DIR, the CUDA 13 toolkit
# (extras/CUPTI/lib64, lib64, targets/x86_64-linux/lib) and pip's nvidia wheels (torch's). Returns
# non-zero with a message on stderr when there is none. Append the folder to LD_LIBRARY_PATH (after
# the toolkit's lib64, so that a wheel folder shadows none of the toolkit's libraries).
cupti_dir() {
  local d sp
  for d in ${CUPTI_DIR:-} /usr/local/cuda/extras/CUPTI/lib64 /usr/local/cuda/lib64 \
      /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/extras/CUPTI/lib64 /usr/local/cuda-13*/lib64; do
    if [ -f "$d/libcupti.so.13" ]; then echo "$d"; return 0; fi
  done
  for sp in $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null); do
    d="$(find "$sp/nvidia" -name 'libcupti.so.13' -printf '%h\n' 2>/dev/null | head -1)"
    if [ -n "$d" ]; then echo "$d"; return 0; fi
  done
  echo "cupti_dir: no libcupti.so.13 (CUDA 13 toolkit extras/CUPTI/lib64, or set CUPTI_DIR); no kernel timeline" >&2
  return 1
}
