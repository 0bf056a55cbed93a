"""predict decodes and scores a chunk of rows at a time, and export retrains from the cache entry: the same
scores as with every image in memory."""

from __future__ import annotations

import numpy as np
import pytest

import fusion_search.serving._predict as predict_module
from fusion_search.data import decode_images, manifest_images, read_manifest, read_table
from fusion_search.designs import Design
from fusion_search.serving._export_model import train_final_model
from fusion_search.serving._predict import score_table

DESIGN = Design(fusion="concat", backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3, epochs=2,
                patience=0, batch_size=16, numeric_layers=1, numeric_width=8, head_layers=1, head_units=8)


@pytest.fixture(scope="module")
def trained(demo_manifest):
    manifest = read_manifest(demo_manifest)
    images = decode_images(manifest.image_paths, DESIGN.image_size)
    return manifest, images, train_final_model(DESIGN, manifest, images, seed=0)


def test_predict_in_chunks_scores_every_row_as_one_whole_prediction(trained, demo_manifest, monkeypatch):
    manifest, images, model = trained
    whole = model.predict({"image": images, "numeric": manifest.numeric}, verbose=0).reshape(-1)
    monkeypatch.setattr(predict_module, "PREDICT_ROWS", 7)  # 60 rows: 9 chunks, the last one short
    np.testing.assert_allclose(score_table(model, read_table(demo_manifest)), whole, atol=2e-6)


def test_export_retrained_from_the_cache_entry_equals_one_retrained_in_memory(trained, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    manifest, images, model = trained
    cached = manifest_images(manifest, DESIGN.image_size)
    assert isinstance(cached, np.memmap)
    from_cache = train_final_model(DESIGN, manifest, cached, seed=0)
    inputs = {"image": images, "numeric": manifest.numeric}
    np.testing.assert_allclose(from_cache.predict(inputs, verbose=0), model.predict(inputs, verbose=0), atol=1e-6)
