#!/usr/bin/env bash
# One prepared command for the borrowed GPU machine (JAX + PyTorch there, no TensorFlow, no network).
# Prepare here first:  bench/fetch_gpu_wheels.sh   (downloads the wheels the GPU image lacks into .whl/)
# Run there (device tool, carry [".whl"]):  bash bench/gpu_check.sh
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
export PYTHONPATH="/tmp/site:$PWD" KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false
timeout 290 python3 bench/gpu_check.py
