"""Where the benchmarks write: bench/results/, or $FUSION_BENCH_RESULTS (the tests' tiny runs write to a temporary
folder, so the committed results stay those of the full-size runs)."""

from __future__ import annotations

import os
from pathlib import Path

RESULTS = Path(os.environ.get("FUSION_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")

__all__ = ["RESULTS"]
