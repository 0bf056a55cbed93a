#!/usr/bin/env bash
# One prepared command for the borrowed GPU machine (JAX + PyTorch there, no TensorFlow, no network); under 5 minutes.
# Prepare here first:  bench/fetch_gpu_wheels.sh   (downloads the wheels the GPU image lacks into .whl/)
# Run there (device tool, carry [".whl"]):  bash bench/gpu_check.sh   -> $OUT/gpu.json (commit it as bench/results/gpu.json)
# Dry run here, on the CPU:  .venv/bin/python -m bench.gpu_check --dry-run
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
# the package itself, laid out as pyproject's package-dir installs it (fusion_search = search/, with spaces/, storage/)
rm -rf /tmp/pkg && mkdir -p /tmp/pkg && cp -r search /tmp/pkg/fusion_search && cp -r spaces storage /tmp/pkg/fusion_search/
export PYTHONPATH="/tmp/pkg:/tmp/site:$PWD" KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false
timeout 290 python3 -m bench.gpu_check
