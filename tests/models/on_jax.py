"""Run a checks module on the JAX backend, in its own process (Keras's backend is fixed per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_on_jax(module: str, folder: Path) -> dict:
    """``KERAS_BACKEND=jax python -m MODULE OUT.json``; the JSON it wrote."""
    out = folder / "checks.json"
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu"}
    run = subprocess.run([sys.executable, "-m", module, str(out)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    return json.loads(out.read_text())
