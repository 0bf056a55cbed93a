"""The batch-size bound: a training step's memory is estimated from the model, checked against what this
worker may use, and a trial whose batch cannot fit is skipped with the reason instead of crashing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import keras
import optuna
import pytest
import yaml

from bench.memory import CASES, measure
from fusion_search import UserError
from fusion_search.cli import main
from fusion_search.cli._launch import worker_devices
from fusion_search.data import prepare_data
from fusion_search.designs import Design, DesignKind, register_design, unregister_design
from fusion_search.models import TrainingRowStats, build_model
from fusion_search.spaces import parse_space
from fusion_search.study import RunSettings, completed, run_search, skipped
from fusion_search.trainers import FoldData, is_out_of_memory, register_trainer, unregister_trainer
from fusion_search.trainers._memory import HEADROOM, memory_budget, parse_size, step_memory
from tests.conftest import TINY_SPACE

SMALL = Design(fusion="concat", backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3)


@pytest.mark.parametrize("case, backend", [("VGG16 64 px 5 blocks, image_only", "jax"),
                                           ("VGG16 64 px frozen, concat", "tensorflow")])
def test_the_estimate_covers_the_memory_a_training_step_really_takes_per_row(case, backend):
    """Peak memory of real training steps at two batch sizes, in a fresh process (bench/memory.py)."""
    fields, small, large = CASES[case]
    result = measure(fields, small, large, backend)
    assert 1.0 <= result["ratio"] <= 8.0, result


def test_fine_tuning_adds_gradients_and_two_adamw_slots_per_trainable_weight():
    frozen, tuned = (step_memory(Design(fusion="image_only", backbone="vgg16", weights="none", image_size=32,
                                        trainable_blocks=blocks), 4) for blocks in (0, 5))
    vgg16_weight_bytes = 14_714_688 * 4
    assert tuned.fixed - frozen.fixed == 3 * vgg16_weight_bytes
    assert tuned.per_sample > frozen.per_sample  # the backward pass keeps the backbone's activations


def test_k_classes_count_k_output_units_of_weights_and_activations():
    binary, seven = step_memory(SMALL, 4), step_memory(SMALL, 4, n_classes=7)
    models = [build_model(SMALL, 4, stats=stats) for stats in (TrainingRowStats(),
                                                               TrainingRowStats(class_log_priors=(0.0,) * 7))]
    more = sum(v.numpy().nbytes for v in models[1].weights) - sum(v.numpy().nbytes for v in models[0].weights)
    assert more > 0 and seven.fixed - binary.fixed == 5 * more  # weights, their copy, gradients, two AdamW slots
    assert seven.per_sample > binary.per_sample


def test_the_largest_batch_is_the_last_one_whose_step_fits_the_headroom():
    need = step_memory(SMALL, 4)
    for budget in (parse_size("8MiB"), parse_size("64MiB"), parse_size("1GiB")):
        largest = need.largest_batch(budget)
        assert need.at(largest) <= budget * HEADROOM < need.at(largest + 1)
    assert need.largest_batch(need.fixed) == 0


def test_estimating_leaves_the_random_streams_of_training_alone():
    import numpy as np

    keras.utils.set_random_seed(3)
    expected = np.random.rand()
    keras.utils.set_random_seed(3)
    step_memory(Design(fusion="gated", backbone="small_cnn", weights="none", image_size=16), 4)
    assert np.random.rand() == expected


@pytest.mark.parametrize("text, size", [("20GiB", 20 * 2**30), ("512 MiB", 512 * 2**20), ("1.5g", 3 * 2**29),
                                        ("4096", 4096), ("2TB", 2 * 2**40)])
def test_memory_sizes_read_like_people_write_them(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["lots", "", "12 parsecs", "-3GiB"])
def test_a_malformed_memory_size_names_the_variable(text):
    with pytest.raises(UserError, match="FUSION_SEARCH_DEVICE_MEMORY"):
        parse_size(text)


def test_workers_sharing_a_device_split_its_memory(monkeypatch):
    monkeypatch.delenv("FUSION_SEARCH_DEVICE_MEMORY", raising=False)
    monkeypatch.delenv("FUSION_SEARCH_WORKERS_PER_DEVICE", raising=False)
    whole = memory_budget()
    monkeypatch.setenv("FUSION_SEARCH_WORKERS_PER_DEVICE", "4")
    assert memory_budget().bytes == whole.bytes // 4
    assert "4 workers" in memory_budget().source
    assert worker_devices(4, ["0", "1"]) == [("0", 2), ("1", 2), ("0", 2), ("1", 2)]
    assert worker_devices(3, ["0", "1"]) == [("0", 2), ("1", 1), ("0", 2)]
    assert worker_devices(3, []) == [(None, 3)] * 3


def test_real_out_of_memory_errors_of_both_backends_are_recognised():
    import tensorflow as tf

    with pytest.raises(Exception) as raised:
        tf.zeros((2**42,), dtype="float32")
    assert is_out_of_memory(raised.value)
    code = "import jax.numpy as j\ntry:\n j.zeros((2**42,)).block_until_ready()\nexcept Exception as e: print(repr(e))"
    jax_error = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                               env={**os.environ, "JAX_PLATFORMS": "cpu"}).stdout
    assert is_out_of_memory(RuntimeError(jax_error)), jax_error
    assert not is_out_of_memory(ValueError("shapes (3,) and (4,) not aligned"))


BATCH_SPACE = TINY_SPACE.replace("  batch_size: 16\n", "").replace(
    "  lr_fusion:", "  batch_size:\n    choices: [16, 256]\n  lr_fusion:") + """
defaults:
  batch_size: 16
  image_units: 8
  numeric_units: 8
  fusion_units: 8
  lr_fusion: 3.0e-3
  multiply_image_activation: sigmoid
  multiply_numeric_activation: relu
"""


def _run(manifest: Path, space: Path, storage: str, trials: int) -> list[str]:
    return ["run", "--data", str(manifest), "--space", str(space), "--study", "memory", "--storage", storage,
            "--trials", str(trials), "--folds", "3", "--seed", "0", "--prune-p", "0", "--quiet"]


def test_trials_whose_batch_cannot_fit_are_skipped_with_the_largest_batch_that_would(
        demo_manifest, tmp_path, monkeypatch, capsys):
    # small_cnn at 16 px: about 4 MiB at batch 16, 60 MiB at batch 256
    monkeypatch.setenv("FUSION_SEARCH_DEVICE_MEMORY", "20MiB")
    space = tmp_path / "batches.yaml"
    space.write_text(BATCH_SPACE)
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    assert main(_run(demo_manifest, space, storage, trials=10)) == 0
    study = optuna.load_study(study_name="memory", storage=storage)
    # gbdt_only trains trees on the CPU and has no batch to bound
    too_big = [t for t in study.trials if t.params.get("batch_size") == 256 and t.params["fusion"] != "gbdt_only"]
    assert too_big and {t.number for t in too_big} == {t.number for t in skipped(study)}
    for trial in too_big:
        assert trial.state == optuna.trial.TrialState.PRUNED and "fold_aucs" not in trial.user_attrs
        largest = int(trial.user_attrs["skipped"].rsplit(" ", 1)[1])
        assert 16 < largest < 256, trial.user_attrs["skipped"]
    assert len(completed(study)) == 10 - len(too_big)
    assert main(["status", "--study", "memory", "--storage", storage]) == 0
    assert f"{len(too_big)} skipped" in capsys.readouterr().out


def test_a_space_whose_baselines_cannot_fit_is_refused_before_any_study_exists(
        demo_manifest, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FUSION_SEARCH_DEVICE_MEMORY", "2MiB")
    space = tmp_path / "batches.yaml"
    space.write_text(BATCH_SPACE)
    assert main(_run(demo_manifest, space, f"sqlite:///{tmp_path / 'study.db'}", trials=5)) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "image_only baseline" in error and "batch_size 16" in error
    assert not (tmp_path / "study.db").exists()


@pytest.fixture
def memory_hog():
    """A registered design whose training really runs out of memory: it asks TensorFlow for 16 TiB."""

    class MemoryHog:
        @staticmethod
        def fold_data(data, design):
            return FoldData(None, data.manifest.numeric, data.manifest.labels)

        @staticmethod
        def train_fold(design, data, train_idx, val_idx, seed, on_epoch=None):
            import tensorflow as tf

            tf.zeros((2**42,), dtype="float32")

    # network=None: nothing for the estimate to see, the failure comes mid-training
    register_design(DesignKind("memory_hog", "asks for 16 TiB", uses_image=False, trainer="memory_hog", network=None))
    register_trainer("memory_hog", MemoryHog())
    yield "memory_hog"
    unregister_design("memory_hog")
    unregister_trainer("memory_hog")


def test_a_trial_that_runs_out_of_memory_while_training_is_skipped_and_the_worker_goes_on(
        memory_hog, demo_manifest, tmp_path):
    space = parse_space(yaml.safe_load(TINY_SPACE.replace("[image_only, numeric_only, concat, multiply, late]",
                                                          f"[{memory_hog}]")), "hog", "test")
    data = prepare_data(demo_manifest, k=3, fold_seed=0)
    study = run_search(RunSettings(study="hog", storage=f"sqlite:///{tmp_path / 'hog.db'}", trials=5, prune_p=0),
                       data, space)
    hogs = [t for t in study.trials if t.params.get("fusion") == memory_hog]
    assert len(hogs) == 2 and len(completed(study)) == 3  # the three baselines still trained
    assert all("ran out of device memory" in t.user_attrs["skipped"] for t in hogs)
