#!/usr/bin/env bash
# Build the mamba-ssm and causal-conv1d wheels for this machine's GPU architecture only, both at once, and install
# them into a folder of their own (default /tmp/kernels): `export PYTHONPATH=/tmp/kernels:$PYTHONPATH` turns them on.
#
#   bash scripts/gpu/build_kernels.sh                     # sources from pip (needs the network), or from .kernels-src/
#   setsid bash scripts/gpu/build_kernels.sh > build.log 2>&1 &   # in the background while the GPU does other work
#
# Why: both are source-only on PyPI and their setup.py compiles for nine architectures (over 30 minutes); for one
# (sm_90 on an H200, 8 jobs each) mamba-ssm builds in ~2.5 min and causal-conv1d in ~6 (docs/TRAINING.md). Versions
# tested together: mamba-ssm 2.3.2.post1, causal-conv1d 1.7.0, torch 2.11 (CUDA 13.0), transformers 5.24.
# Offline, put the two sdists in .kernels-src/ first:
#   pip download --no-deps --no-binary :all: --no-build-isolation mamba-ssm==2.3.2.post1 causal-conv1d==1.7.0 -d .kernels-src
#   (on a machine without CUDA prefix MAMBA_SKIP_CUDA_BUILD=TRUE CAUSAL_CONV1D_SKIP_CUDA_BUILD=TRUE)
set -euo pipefail
cd "$(dirname "$0")/../.."
SRC=${KERNELS_SRC:-.kernels-src}
DEST=${KERNELS_DIR:-/tmp/kernels}
JOBS=${MAX_JOBS:-8}
MAMBA=mamba_ssm-2.3.2.post1
CONV=causal_conv1d-1.7.0
arch=$(python3 -c "import torch; a, b = torch.cuda.get_device_capability(); print(f'{a}{b}')")
mkdir -p "$SRC" "$DEST"
for pkg in $MAMBA $CONV; do
  [ -f "$SRC/$pkg.tar.gz" ] || MAMBA_SKIP_CUDA_BUILD=TRUE CAUSAL_CONV1D_SKIP_CUDA_BUILD=TRUE python3 -m pip download -q --no-deps \
    --no-binary :all: --no-build-isolation "$(echo "${pkg%-*}" | tr _ -)==${pkg##*-}" -d "$SRC"
done
wheels=$(mktemp -d)
build() {  # build NAME FORCE_VAR: unpack, keep only this GPU's -gencode pair, build the wheel
  local name=$1 force=$2 dir t0=$SECONDS
  dir=$(mktemp -d)
  tar xzf "$SRC/$name.tar.gz" -C "$dir"
  # every `cc_flag.append("arch=compute_XX,code=sm_XX")` either stays (XX = this GPU) or drops its "-gencode"
  sed -i -E "s/^( *)cc_flag\.append\(\"arch=compute_([0-9]+),code=sm_([0-9]+)\"\)$/\1cc_flag.append(\"arch=compute_\2,code=sm_\3\") if \"\2\" == \"$arch\" else cc_flag.pop()/" \
    "$dir/$name/setup.py"
  grep -q "\"$arch\" ==" "$dir/$name/setup.py" || { echo "$name: setup.py has no -gencode line to keep; not patched"; return 1; }
  (cd "$dir/$name" && env "$force=TRUE" MAX_JOBS=$JOBS python3 -m pip wheel -q --no-deps --no-build-isolation -w "$wheels" .) > "$dir/build.log" 2>&1 \
    || { tail -30 "$dir/build.log"; echo "$name: build failed"; return 1; }
  echo "$name: built for sm_$arch in $((SECONDS - t0)) s"
}
build $CONV CAUSAL_CONV1D_FORCE_BUILD & c=$!
build $MAMBA MAMBA_FORCE_BUILD & m=$!
wait $c && wait $m
python3 -m pip install -q --no-deps --no-index --no-compile --upgrade --target "$DEST" "$wheels"/*.whl
PYTHONPATH="$DEST:${PYTHONPATH:-}" python3 -c "import mamba_ssm, causal_conv1d; print('kernels ready in $DEST: mamba_ssm', mamba_ssm.__version__, 'causal_conv1d', causal_conv1d.__version__)"
touch "$DEST/.ready"  # scripts/launch.py starts the runs that need the kernels once this exists
