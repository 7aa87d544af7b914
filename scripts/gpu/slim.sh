#!/usr/bin/env bash
# The device tool copies tracked files + carried paths (64 MiB cap). Before a device call, `bash scripts/gpu/slim.sh on`
# drops from the index (not from disk, not from history) the big files no GPU script reads (every shipped checkpoint: no
# GPU script loads one); `... off` restores them.
set -euo pipefail
BIG="results/table1/weights results/multiplication/aligned/weights checkpoints/addition-mamba-small checkpoints/addition-lstm-small checkpoints/hanoi-recursive-mamba-small checkpoints/logical-graph-mamba-small checkpoints/addition-mamba-small-p3 checkpoints/addition-lstm-small-p3"
case ${1:-} in
  on) git rm -r -q --cached $BIG; for p in $BIG; do echo "/$p" >> .git/info/exclude; done ;;
  off) for p in $BIG; do sed -i "\#^/$p\$#d" .git/info/exclude; done; git reset -q -- $BIG ;;
  *) echo "usage: $0 on|off"; exit 2 ;;
esac
