#!/usr/bin/env bash
# The device tool copies tracked files + carried paths (64 MiB cap). Before a device call, `bash scripts/gpu/slim.sh on`
# drops from the index (not from disk, not from history) the big files no GPU script reads (results/, 53 MB); the
# shipped checkpoints travel (stress evaluations load them); `... off` restores them.
set -euo pipefail
BIG="results"
case ${1:-} in
  on) git rm -r -q --cached $BIG; for p in $BIG; do echo "/$p" >> .git/info/exclude; done ;;
  off) for p in $BIG; do sed -i "\#^/$p\$#d" .git/info/exclude; done; git reset -q -- $BIG ;;
  *) echo "usage: $0 on|off"; exit 2 ;;
esac
