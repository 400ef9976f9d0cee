#!/usr/bin/env bash
# Compares the SASS of the named kernels between two source trees or commits: compiles each kernel
# source of both sides to a cubin for sm_80 and sm_90 (nvcc -cubin -O3 -std=c++17, as
# build-kernels.sh compiles the fatbins) and checks, per kernel, that the machine code is the same
# instruction for instruction. Use it to prove that an edit (removing a sibling kernel, moving a
# helper) leaves the kept kernels' code alone.
#
# What is compared per kernel: the bytes of its .text section (the SASS itself: every instruction,
# with its scheduling control bits, is one 128-bit word, branch targets are relative), its
# relocations, its register count, stack and frame sizes (.nv.info), its per-kernel attributes
# (.nv.info.<kernel>: parameters, exit offsets, barriers, ...), its constant bank 0 and its static
# shared memory size. Symbol indices, which move when other kernels are added or removed, are
# replaced by the symbols' names. Needs no cuobjdump: readable SASS is not needed to prove equality,
# and the toolkit here may lack it.
#
# Usage: sass-diff.sh OLD NEW NAMES [KERNELS]
#   OLD, NEW  a git revision (HEAD~1, 78ddd67) or a repository root holding kernels/src/main/cuda
#             (. for the working tree)
#   NAMES     kernel sources, base names, comma-separated: attention_mma,gemv
#   KERNELS   extended regex of the kernel names to compare (default: every kernel of OLD); a matching
#             kernel of OLD that NEW lacks is a difference
# Prints one line per kernel and arch. Exits 0 when every compared kernel is identical; 3 when some
# differ only in their shared-memory sections (the same instructions, relocations, registers and
# attributes: the section's alignment and presence follow the module, e.g. removing a module's only
# kernel with dynamic shared memory moves its other kernels' static shared sections from 16-byte to
# 4-byte alignment); 1 when any instruction or attribute differs or a kernel is missing.
# Example: tools/cuda/sass-diff.sh HEAD . attention_mma '^attention_mma_pack'
# nvcc 13.0 here is not always deterministic (seen 2026-11-29): two compiles of the same source once gave different
# code for decode_online16's attention_decode_online_f16_vec8_h8_passes (sm_90) and decode's
# attention_decode_online_*_h4/h8 (sm_80). Rerun a lone DIFFERENT on those before believing it.
set -euo pipefail
[ $# -ge 3 ] || { sed -n '2,/^set /p' "$0" | sed '$d;s/^# \{0,1\}//' >&2; exit 2; }
OLD="$1" NEW="$2" NAMES="$3" KERNELS="${4:-.}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
NVCC="${NVCC:-nvcc}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The kernel sources of one side in $WORK/<side>/: a directory's kernels/src/main/cuda, else a git revision's.
tree() {
  local spec="$1" dst="$WORK/$2"
  mkdir -p "$dst"
  if [ -d "$spec/kernels/src/main/cuda" ]; then
    cp -r "$spec/kernels/src/main/cuda/." "$dst/"
  else
    git -C "$ROOT" archive "$spec" kernels/src/main/cuda | tar -x -C "$dst" --strip-components=4
  fi
}
tree "$OLD" old
tree "$NEW" new

# Per kernel of a cubin whose name matches $2, a fingerprint file $3/<kernel> (see the header).
fingerprint() {
  python3 - "$1" "$2" "$3" <<'EOF'
import os, re, struct, sys
path, pattern, out = sys.argv[1], re.compile(sys.argv[2]), sys.argv[3]
data = open(path, 'rb').read()
shoff, = struct.unpack_from('<Q', data, 0x28)
shnum, shstrndx = struct.unpack_from('<HH', data, 0x3c)
secs = [struct.unpack_from('<IIQQQQIIQQ', data, shoff + 64 * i) for i in range(shnum)]
def cstr(off):
    return data[off:data.index(b'\0', off)].decode()
names = [cstr(secs[shstrndx][4] + s[0]) for s in secs]
def body(i):
    s = secs[i]
    return b'' if s[1] == 8 else data[s[4]:s[4] + s[5]]   # NOBITS: no bytes in the file
symtab = next(i for i, s in enumerate(secs) if s[1] == 2)
strtab = secs[secs[symtab][6]][4]
syms = []
for off in range(0, secs[symtab][5], 24):
    st_name, st_info, st_other, st_shndx, st_value, st_size = struct.unpack_from('<IBBHQQ', body(symtab), off)
    syms.append(cstr(strtab + st_name) or (names[st_shndx] if st_shndx < shnum else ''))
def sym(i):
    return syms[i] if i < len(syms) else '#%d' % i
def info(i):
    """.nv.info entries (format, attribute, payload); a payload of 8 bytes or more starting with a
    symbol index (the kernel's, or its constant bank's) shows the name instead."""
    b, p, rows = body(i), 0, []
    while p < len(b):
        fmt, attr = b[p], b[p + 1]
        if fmt == 4:
            size, = struct.unpack_from('<H', b, p + 2)
            val, p = b[p + 4:p + 4 + size], p + 4 + size
            if size >= 8 and struct.unpack_from('<I', val)[0] < len(syms) and attr in (0x0a, 0x11, 0x12, 0x23, 0x2f):
                rows.append((attr, sym(struct.unpack_from('<I', val)[0]), val[4:].hex()))
                continue
        else:
            val, p = b[p + 2:p + 4], p + 4
        rows.append((attr, val.hex()))
    return rows
glob = [r for i, n in enumerate(names) if n == '.nv.info' for r in info(i)]
kernels = [n[len('.text.'):] for n in names if n.startswith('.text.')]
for k in kernels:
    if not pattern.search(k):
        continue
    lines = []
    for i, n in enumerate(names):
        if n.split('.')[-1] != k or n not in ('.text.' + k, '.rela.text.' + k, '.nv.info.' + k,
                                               '.nv.constant0.' + k, '.nv.shared.' + k):
            continue
        s = secs[i]
        lines.append('section %s type %#x flags %#x size %#x align %d info-high %#x'
                     % (n, s[1], s[2], s[5], s[8], s[7] >> 24))
        if s[1] == 4:
            for off in range(0, s[5], 24):
                r_off, r_info, r_add = struct.unpack_from('<QQq', body(i), off)
                lines.append('  reloc %#x type %d %s%+d' % (r_off, r_info & 0xffffffff, sym(r_info >> 32), r_add))
        elif n.startswith('.nv.info.'):
            lines += ['  info %r' % (r,) for r in info(i)]
        elif n.startswith('.text.'):
            code = body(i)
            lines += ['  %05x %s' % (o, code[o:o + 16].hex()) for o in range(0, len(code), 16)]
        else:
            lines.append('  bytes ' + body(i).hex())
    lines += ['global-info %r' % (r,) for r in glob if len(r) == 3 and r[1] == k]
    with open(os.path.join(out, k), 'w') as f:
        f.write('\n'.join(lines) + '\n')
EOF
}

# A fingerprint less its .nv.shared.<kernel> lines (static shared size and alignment; the section is
# left out, or 16-byte aligned, according to whether any kernel of the module uses dynamic shared memory).
without_shared_sections() {
  awk '/^section \.nv\.shared\./ { skip = 1; next } skip && /^  bytes / { skip = 0; next } { skip = 0; print }' "$1"
}

status=0
IFS=',' read -r -a sources <<< "$NAMES"
for name in "${sources[@]}"; do
  for arch in 80 90; do
    for side in old new; do
      mkdir -p "$WORK/fp/$side/$name/$arch"
      "$NVCC" -cubin -O3 -std=c++17 -arch=sm_$arch -o "$WORK/$side-$name-$arch.cubin" "$WORK/$side/$name.cu"
      fingerprint "$WORK/$side-$name-$arch.cubin" "$KERNELS" "$WORK/fp/$side/$name/$arch"
    done
    for fp in "$WORK/fp/old/$name/$arch"/*; do
      [ -e "$fp" ] || continue
      kernel="$(basename "$fp")"
      other="$WORK/fp/new/$name/$arch/$kernel"
      if [ ! -f "$other" ]; then
        echo "MISSING   sm_$arch $name $kernel (not in $NEW)"; status=1
      elif cmp -s "$fp" "$other"; then
        echo "identical sm_$arch $name $kernel ($(grep -c '^  [0-9a-f]\{5\} ' "$fp") instructions)"
      elif cmp -s <(without_shared_sections "$fp") <(without_shared_sections "$other"); then
        echo "same code sm_$arch $name $kernel, shared-memory sections differ:"; diff "$fp" "$other" | head -20 || true
        [ $status -eq 1 ] || status=3
      else
        echo "DIFFERENT sm_$arch $name $kernel:"; diff "$fp" "$other" | head -20 || true; status=1
      fi
    done
  done
done
exit $status
