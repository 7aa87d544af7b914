#!/usr/bin/env bash
# The one GPU launcher: set up the GPU machine, then run a study's table (experiments/<study>.py) with scripts/launch.py:
# start the matching runs in the background, evaluate the ones that finished, pack the results into $OUT.
#
#   bash scripts/gpu/run.sh STUDY [PATTERN]        # e.g. paper_scale 'add-tool-*'; call again to go on
#
# A device call lasts at most 10 minutes, and a held machine keeps background processes between calls: call this
# again (same arguments) in the next call until every run reads done, then file what came back here with
#   python scripts/launch.py unpack <files_at>/STUDY.tgz
# Carry .whl (pinned wheels, scripts/gpu/setup.sh) and, for studies that need the kernels, .kernels-src (the two
# sdists, scripts/gpu/build_kernels.sh). DEADLINE (default 540 s) is when this call packs and returns. Several launchers
# (studies) can share one call: they pack one at a time and keep $OUT to the device's 8 files, results first.
# TOOLSSM_GIT_COMMIT names the commit the copy was made from (the copy has no .git): it goes into every run.json.
# LAST_CALL=1 on the lease's last call: runs still training also send their newest checkpoint (<study>-cut.tgz), to
# evaluate here as the checkpoint it is (the study must save some: --save-every), and runs trained and fully evaluated
# that keep no weights send theirs (<study>-trained.tgz, after everything else), to look into here. With CARRY_STATE=1
# as well, the cut runs send their whole training state instead (<study>-cut-01.tgz, ...), which a later lease continues
# with --from-results and the run folders carried (docs/TRAINING.md, "A run longer than a lease").
set -uo pipefail
export TOOLSSM_CALL_START=${TOOLSSM_CALL_START:-$(date +%s)}  # the deadline counts from here, setup included
cd "$(dirname "$0")/../.."
source scripts/gpu/setup.sh || exit 1
export PYTORCH_CUDA_ALLOC_CONF=${PYTORCH_CUDA_ALLOC_CONF:-expandable_segments:True}
exec python3 scripts/launch.py run "$@" --out "$OUT"
