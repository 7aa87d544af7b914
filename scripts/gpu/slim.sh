#!/usr/bin/env bash
# The device tool copies tracked files + carried paths (64 MiB cap): the tracked tree (55 MB, checkpoints/ 52 MB of it)
# and the carried wheels (.whl, 14 MB) together are over it; without results/ (3.4 MB) they fit. Before a device call, `bash scripts/gpu/slim.sh on [FOLDER...]` drops the folders from
# the index (not from disk, not from history; default results/), `bash scripts/gpu/slim.sh off [FOLDER...]` restores
# them. Never commit while they are dropped. The dropped paths are listed in .slimmed (untracked, so it travels): tests
# skip what the list names (tests/test_checkpoints.py) instead of failing on a folder that was not carried.
set -euo pipefail
BIG="${*:2}"; BIG=${BIG:-results}
case ${1:-} in
  on) git rm -r -q --cached $BIG; for p in $BIG; do echo "/$p" >> .git/info/exclude; echo "$p" >> .slimmed; done ;;
  off) for p in $BIG; do sed -i "\#^/$p\$#d" .git/info/exclude; if [ -f .slimmed ]; then sed -i "\#^$p\$#d" .slimmed; fi; done
       [ -s .slimmed ] || rm -f .slimmed; git reset -q -- $BIG ;;
  *) echo "usage: $0 on|off"; exit 2 ;;
esac
