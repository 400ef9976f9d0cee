#!/usr/bin/env bash
# Keeps files the GPU machine never reads out of the working tree a device call copies, when the tree
# plus the carried bundle would pass the call's 64 MiB (tools/device/bundle.sh prints the total).
#   bash tools/device/slim-tree.sh on    # untrack (index only, nothing committed) and locally ignore them
#   ... device calls ...
#   bash tools/device/slim-tree.sh off   # track them again; the files never leave the disk
# The run tool copies tracked and untracked-not-ignored files; "on" makes SLIM_PATHS neither (git rm --cached
# plus .git/info/exclude). Only for device calls: never commit while it is on ("status" says which state holds).
# SLIM_PATHS (default: the demo model, which only the app and query-planner CPU tests read) picks the files.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATHS=(${SLIM_PATHS:-models/glimpse-demo/model.safetensors})
EXCLUDE="$(git rev-parse --git-path info/exclude)"
case "${1:-status}" in
  on)
    for p in "${PATHS[@]}"; do
      git rm -q --cached "$p"
      grep -qxF "$p" "$EXCLUDE" 2>/dev/null || echo "$p" >> "$EXCLUDE"
    done
    echo "slim-tree: on (${PATHS[*]} untracked for device calls; run 'off' before committing)" ;;
  off)
    for p in "${PATHS[@]}"; do
      grep -vxF "$p" "$EXCLUDE" > "$EXCLUDE.tmp" || true
      mv "$EXCLUDE.tmp" "$EXCLUDE"
      git add -- "$p"
    done
    echo "slim-tree: off" ;;
  status)
    for p in "${PATHS[@]}"; do
      if git ls-files --error-unmatch -- "$p" > /dev/null 2>&1; then echo "tracked: $p"; else echo "slimmed: $p"; fi
    done ;;
  *) echo "usage: slim-tree.sh on|off|status" >&2; exit 2 ;;
esac
