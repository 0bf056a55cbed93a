"""Commands that train nothing start without a deep-learning framework: --help, spaces, status, report and
export of a record load neither TensorFlow, Keras nor JAX (checked in a fresh process's sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")
PROBE = """
import json, sys
from fusion_search.cli import main
try:
    code = main(json.loads(sys.argv[1]))
except SystemExit as stop:
    code = stop.code
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
print(json.dumps({"code": code, "frameworks": loaded}))
"""


def run_fresh(argv: list[str]) -> dict:
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(FRAMEWORKS)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["--help"], ["run", "--help"], ["spaces"], ["spaces", "show", "default"]],
                         ids=["help", "run-help", "spaces", "spaces-show"])
def test_commands_without_a_study_load_no_framework(argv):
    assert run_fresh(argv) == {"code": 0, "frameworks": []}


def test_status_report_and_export_of_a_record_load_no_framework(searched_study, tmp_path):
    storage, name, _ = searched_study
    for argv in (["status", "--study", name, "--storage", storage],
                 ["report", "--study", name, "--storage", storage, "--output", str(tmp_path / "r.html")],
                 ["export", "--study", name, "--storage", storage, "--output", str(tmp_path / "best.json")]):
        assert run_fresh(argv) == {"code": 0, "frameworks": []}, argv
    assert (tmp_path / "r.html").is_file() and json.loads((tmp_path / "best.json").read_text())["chosen"]["why"]


def test_a_tree_design_trains_a_fold_without_a_framework(demo_manifest):
    """gbdt_only's trainer is scikit-learn's: training it loads no framework (its trainer module is loaded
    on first use, and the Keras trainer never is)."""
    code = f"""
import json, sys
from fusion_search.data import fold_indices, prepare_data
from fusion_search.designs import Design
from fusion_search.trainers import fold_data, train_fold
data = prepare_data({str(demo_manifest)!r}, k=3, fold_seed=0)
design = Design(fusion="gbdt_only")
result = train_fold(design, fold_data(data, design), *fold_indices(data.folds, 0), seed=0)
print(json.dumps({{"auc": result.auc, "frameworks": sorted({{m.split(".")[0] for m in sys.modules}} & set({list(FRAMEWORKS)!r}))}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer["frameworks"] == [] and 0.0 <= answer["auc"] <= 1.0
