"""Caches: decoded images and frozen-backbone features are built once, shared, and change no result."""

from __future__ import annotations

import multiprocessing
import os

import keras
import numpy as np
import pytest

from fusion_search.data import decode_images, fold_indices, prepare_data
from fusion_search.designs import Design
from fusion_search.models import build_backbone
from fusion_search.storage import cached_array
from fusion_search.trainers import fold_data, train_fold


def _build_and_count(args):
    folder, counter = args
    os.environ["FUSION_SEARCH_CACHE"] = folder

    def build():
        with open(counter, "a") as handle:
            handle.write("built\n")
        return np.arange(1000, dtype=np.float32)

    return float(cached_array("shared-key", build).sum())


def test_several_processes_asking_at_once_build_the_entry_once(tmp_path):
    counter = tmp_path / "count.txt"
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        sums = pool.map(_build_and_count, [(str(tmp_path / "cache"), str(counter))] * 6)
    assert sums == [float(np.arange(1000).sum())] * 6
    assert counter.read_text().count("built") == 1
    assert not list((tmp_path / "cache").glob("*.partial.npy"))


def test_decoded_images_come_back_memory_mapped_and_equal_to_a_fresh_decode(demo_manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    data = prepare_data(demo_manifest, k=3, fold_seed=0, image_sizes=(24,))
    cached = data.images(24)
    assert isinstance(cached, np.memmap)
    assert np.array_equal(cached, decode_images(data.manifest.image_paths, 24))
    assert len(list(tmp_path.glob("images-*.npy"))) == 1


@pytest.fixture(scope="module")
def backbone_weights(tmp_path_factory):
    """A 'pretrained' small_cnn: fixed weights in a local file, as an offline cluster would give."""
    keras.utils.set_random_seed(123)
    _, backbone = build_backbone("small_cnn", 32, "none", 0)
    path = tmp_path_factory.mktemp("weights") / "small_cnn.weights.h5"
    backbone.save_weights(path)
    return str(path)


@pytest.mark.parametrize("fusion", ["image_only", "concat"])
def test_the_feature_cache_gives_the_same_fold_aucs_as_running_the_backbone(demo_manifest, backbone_weights,
                                                                            tmp_path, monkeypatch, fusion):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    design = Design(fusion=fusion, backbone="small_cnn", weights=backbone_weights, image_size=32, trainable_blocks=0,
                    image_units=8, numeric_units=8, head_units=8, epochs=3, patience=0, batch_size=16)
    aucs = {}
    for caches in (True, False):
        data = prepare_data(demo_manifest, k=3, fold_seed=0, caches=caches)
        assert (fold_data(data, design).image_features is not None) is caches
        folds = [fold_indices(data.folds, f) for f in range(3)]
        aucs[caches] = [train_fold(design, fold_data(data, design), tr, va, seed=f).auc for f, (tr, va) in enumerate(folds)]
    assert np.round(aucs[True], 3).tolist() == np.round(aucs[False], 3).tolist()
    assert len(list(tmp_path.glob("features-*.npy"))) == 1


def test_fine_tuned_random_or_augmented_backbones_never_use_the_feature_cache(demo_manifest, backbone_weights):
    data = prepare_data(demo_manifest, k=3, fold_seed=0)

    def uses_cache(design: Design) -> bool:
        return fold_data(data, design).image_features is not None

    assert not uses_cache(Design(backbone="small_cnn", weights=backbone_weights, trainable_blocks=1))
    assert not uses_cache(Design(backbone="small_cnn", weights="none", trainable_blocks=0))
    assert not uses_cache(Design(backbone="small_cnn", weights=backbone_weights, augmentation="flip"))
    assert uses_cache(Design(backbone="small_cnn", weights=backbone_weights, image_size=32))
    assert not uses_cache(Design(fusion="numeric_only", backbone="small_cnn", weights=backbone_weights))
