"""Shared test setup: an explicit Keras backend, Keras kept out of the home folder, tiny datasets."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("KERAS_HOME", tempfile.mkdtemp(prefix="keras-home-"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("FUSION_SEARCH_CACHE", tempfile.mkdtemp(prefix="fusion-search-cache-"))

import csv  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

TESTS = Path(__file__).resolve().parent


def write_manifest(folder: Path, rows: list[dict], images: list[np.ndarray] | None = None,
                   name: str = "manifest.csv", image_column: str = "image") -> Path:
    """Write rows (dicts) as a CSV, and images (uint8 arrays) as PNGs named by each row's image column."""
    folder.mkdir(parents=True, exist_ok=True)
    if images is not None:
        for row, image in zip(rows, images):
            path = folder / row[image_column]
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(path)
    path = folder / name
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def manifest_rows(manifest: Path) -> list[dict]:
    """A manifest's rows with absolute image paths, so edited copies can live anywhere."""
    with manifest.open() as handle:
        return [{**row, "image": str(manifest.parent / row["image"])} for row in csv.DictReader(handle)]


def write_rows(path: Path, rows: list[dict]) -> Path:
    """Rows as a CSV at path (no images written)."""
    return write_manifest(path.parent, rows, name=path.name)


@pytest.fixture(scope="session")
def demo_manifest(tmp_path_factory) -> Path:
    """The built-in demo generator at a tiny size (60 rows, 32 px)."""
    from fusion_search.data import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("demo"), rows=60, seed=1)


@pytest.fixture(scope="session")
def tiny_space(tmp_path_factory) -> Path:
    """A space that trains in about a second per fold: small_cnn on 16 px, 3 epochs."""
    path = tmp_path_factory.mktemp("space") / "tiny.yaml"
    path.write_text(TINY_SPACE)
    return path


TINY_SPACE = """
description: tiny, for tests
fixed:
  backbone: small_cnn
  weights: none
  image_size: 16
  trainable_blocks: 3
  epochs: 3
  patience: 0
  numeric_layers: 1
  numeric_width: 8
  head_layers: 1
  head_units: 8
  batch_size: 16
search:
  fusion:
    choices: [image_only, numeric_only, concat, multiply, late]
  image_units: {low: 4, high: 16, log: true}
  numeric_units: {low: 4, high: 16, log: true}
  fusion_units: {low: 4, high: 16, log: true}
  multiply_image_activation:
    choices: [sigmoid, relu]
  multiply_numeric_activation:
    choices: [relu, linear]
  lr_fusion: {low: 1.0e-3, high: 1.0e-2, log: true}
"""


@pytest.fixture(scope="session")
def searched_study(tmp_path_factory, demo_manifest):
    """A real finished study on the tiny demo data: every baseline plus one concat trial (3 folds).

    Returns (storage URL, study name, manifest path). Session-scoped: the search runs once.
    """
    from fusion_search.data import prepare_data
    from fusion_search.designs import baseline_fusions
    from fusion_search.spaces import load_space
    from fusion_search.study import RunSettings, open_or_create_study, run_search

    folder = tmp_path_factory.mktemp("study")
    (folder / "concat.yaml").write_text(TINY_SPACE.split("search:")[0] + CONCAT_SEARCH)
    storage = f"sqlite:///{folder / 'study.db'}"
    settings = RunSettings(study="tiny", storage=storage, trials=len(baseline_fusions()) + 1, seed=0)
    space = load_space(str(folder / "concat.yaml"))
    data = prepare_data(demo_manifest, 3, 0, image_sizes=(16,))
    open_or_create_study(settings, data, space).enqueue_trial({"fusion": "concat"})
    run_search(settings, data, space)
    return storage, "tiny", demo_manifest


CONCAT_SEARCH = """search:
  fusion:
    choices: [image_only, numeric_only, concat]
  image_units: {low: 4, high: 16, log: true}
  numeric_units: {low: 4, high: 16, log: true}
  fusion_units: {low: 4, high: 16, log: true}
  lr_fusion: {low: 1.0e-3, high: 1.0e-2, log: true}
"""
