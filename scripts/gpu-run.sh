#!/usr/bin/env bash
# On a CUDA machine with torch and triton installed: install the carried wheels, run the
# triton kernel tests on the GPU (no interpreter), then the benchmarks on the GPU.
# Results go to ${OUT:-gpu-results}: gpu.txt (the card), gpu-tests.log, bench/bench.json
# and bench/bench.png (the figures the performance page shows: copy them to
# docs/performance/gpu/), gpu-bench.log, and targets.txt (LIF and SynapseFilter at T=16
# over 4M neurons against the bandwidth and speed-up targets).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-results}
mkdir -p "$out/bench"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/spikelayers-site .gpu/wheels/*.whl || exit 1
export PYTHONPATH=/tmp/spikelayers-site PYTHONUNBUFFERED=1 TRITON_INTERPRET=0 SPIKELAYERS_TEST_DEVICE=cuda
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__)" | tee -a "$out/gpu.txt"
status=0
timeout 300 python3 -m pytest -q -p no:cacheprovider --maxfail=20 -k "triton" plugins/*/tests 2>&1 | tee "$out/gpu-tests.log" || status=1
timeout 240 python3 -m spikelayers.cli bench --device cuda --sizes small,large,gpu --out "$out/bench" 2>&1 \
    | tee "$out/gpu-bench.log" || status=1
python3 -m spikelayers_bench.targets "$out/bench/bench.json" 2>&1 | tee "$out/targets.txt" || status=1
exit $status
