#!/usr/bin/env bash
# Build wheels of every spikelayers distribution into .gpu/wheels, to be carried to a
# CUDA machine that has torch and triton but no package index (see gpu-run.sh). The
# folder is git-ignored: carry .gpu along with the working tree.
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
rm -rf .gpu/wheels && mkdir -p .gpu/wheels
for dist in core plugins/* packages/spikelayers-bench; do
    "$python" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir .gpu/wheels "./$dist"
done
ls .gpu/wheels
