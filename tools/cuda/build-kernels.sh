#!/usr/bin/env bash
# Compiles the CUDA kernels (kernels/src/main/cuda/*.cu) into fatbins that the CUDA backend loads
# from the classpath (dev/glimpse/kernels/cuda/*.fatbin). Each fatbin holds SASS for sm_80 (runs on
# every Ampere/Ada GPU) and sm_90 (Hopper), and compute_90 PTX that the driver JIT-compiles for
# newer GPUs, compressed (--compress-mode=size, nvcc >= 12.8; the driver inflates them at load) so the
# committed fatbins stay small. The outputs are committed, so building Glimpse needs no nvcc; rerun this after
# editing a .cu file. Needs nvcc 12.x or 13.x (NVCC=/path/to/nvcc to choose one).
# Usage: build-kernels.sh [name ...]   (base names, e.g. "gemv attention"; default: every .cu file)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
SRC="$ROOT/kernels/src/main/cuda"
OUT="$ROOT/kernels/src/main/resources/dev/glimpse/kernels/cuda"
NVCC="${NVCC:-nvcc}"
command -v "$NVCC" >/dev/null || { echo "build-kernels: nvcc not found (set NVCC or install the CUDA toolkit)" >&2; exit 1; }
mkdir -p "$OUT"
COMPRESS=()
if "$NVCC" --help 2>/dev/null | grep -q -- '--compress-mode'; then
  COMPRESS=(--compress-mode=size)
else
  echo "build-kernels: $NVCC cannot compress fatbins (nvcc >= 12.8 can); writing them uncompressed" >&2
fi
if [ $# -gt 0 ]; then
  sources=(); for n in "$@"; do sources+=("$SRC/${n%.cu}.cu"); done
else
  sources=("$SRC"/*.cu)
fi
for cu in "${sources[@]}"; do
  [ -f "$cu" ] || { echo "build-kernels: no such kernel source: $cu" >&2; exit 1; }
  name="$(basename "$cu" .cu)"
  "$NVCC" -fatbin -O3 -std=c++17 -Xptxas -warn-spills \
    -gencode arch=compute_80,code=sm_80 \
    -gencode arch=compute_90,code=sm_90 \
    -gencode arch=compute_90,code=compute_90 \
    "${COMPRESS[@]}" -o "$OUT/$name.fatbin" "$cu"
  echo "built $name.fatbin ($(stat -c %s "$OUT/$name.fatbin") bytes)"
done
