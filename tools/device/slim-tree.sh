#!/usr/bin/env bash
# Keeps files the GPU machine never reads out of the working tree a device call copies, when the tree
# plus the carried bundle would pass the call's 64 MiB (tools/device/bundle.sh prints the total).
#   bash tools/device/slim-tree.sh on    # untrack (index only, nothing committed) and locally ignore them
#   ... device calls ...
#   bash tools/device/slim-tree.sh off   # track them again; the files never leave the disk
# The run tool copies tracked and untracked-not-ignored files; "on" makes SLIM_PATHS neither (git rm --cached
# plus .git/info/exclude). Only for device calls: while it is on, a pre-commit hook it installs (where the repository
# has none of its own) refuses commits, which would otherwise delete the model; "off" removes the hook.
# SLIM_PATHS (default: the demo model, which only the app and query-planner CPU tests read) picks the files.
set -euo pipefail
cd "$(dirname "$0")/../.."
PATHS=(${SLIM_PATHS:-models/glimpse-demo/model.safetensors})
EXCLUDE="$(git rev-parse --git-path info/exclude)"
HOOK="$(git rev-parse --git-path hooks/pre-commit)"
MARK="# slim-tree: refuses commits while the demo model is untracked for device calls"
case "${1:-status}" in
  on)
    for p in "${PATHS[@]}"; do
      git rm -q --cached "$p"
      grep -qxF "$p" "$EXCLUDE" 2>/dev/null || echo "$p" >> "$EXCLUDE"
    done
    if [ ! -e "$HOOK" ]; then
      mkdir -p "$(dirname "$HOOK")"
      printf '#!/bin/sh\n%s\necho "slim-tree is on: run bash tools/device/slim-tree.sh off before committing" >&2\nexit 1\n' \
        "$MARK" > "$HOOK"
      chmod +x "$HOOK"
    fi
    echo "slim-tree: on (${PATHS[*]} untracked for device calls; run 'off' before committing)" ;;
  off)
    for p in "${PATHS[@]}"; do
      grep -vxF "$p" "$EXCLUDE" > "$EXCLUDE.tmp" || true
      mv "$EXCLUDE.tmp" "$EXCLUDE"
      git add -- "$p"
    done
    if [ -f "$HOOK" ] && grep -qxF "$MARK" "$HOOK"; then
      rm -f "$HOOK"
    fi
    echo "slim-tree: off" ;;
  status)
    for p in "${PATHS[@]}"; do
      if git ls-files --error-unmatch -- "$p" > /dev/null 2>&1; then echo "tracked: $p"; else echo "slimmed: $p"; fi
    done ;;
  *) echo "usage: slim-tree.sh on|off|status" >&2; exit 2 ;;
esac
