"""Classical image descriptors: known values on known images, deterministic, and computed once per machine."""

from __future__ import annotations

import numpy as np
import pytest

import fusion_search.data._dataset as dataset
from fusion_search.data import DESCRIPTOR_NAMES, image_descriptors, prepare_data


def named(vector: np.ndarray) -> dict[str, float]:
    return dict(zip(DESCRIPTOR_NAMES, vector.tolist()))


def test_a_plain_red_image_has_the_descriptors_it_should():
    red = np.zeros((1, 16, 16, 3), dtype=np.uint8)
    red[..., 0] = 255
    d = named(image_descriptors(red)[0])
    assert len(DESCRIPTOR_NAMES) == 48
    assert d["hue_0"] == 1.0 and d["saturation_3"] == 1.0 and d["value_3"] == 1.0  # pure, saturated, bright red
    assert (d["mean_r"], d["mean_g"], d["std_r"], d["skew_r"]) == (1.0, 0.0, 0.0, 0.0)
    assert d["edges_sigma1"] == d["edges_sigma2"] == 0.0 and d["gradient"] == pytest.approx(0.0, abs=1e-12)
    assert sum(d[f"lbp1_{i}"] for i in range(10)) == pytest.approx(1.0)


def test_texture_and_edges_tell_stripes_from_a_flat_image():
    flat = np.full((1, 32, 32, 3), 128, dtype=np.uint8)
    stripes = flat.copy()
    stripes[:, :, ::4] = 255
    a, b = named(image_descriptors(flat)[0]), named(image_descriptors(stripes)[0])
    assert b["edges_sigma1"] > a["edges_sigma1"] == 0.0 and b["gradient"] > 0.05
    assert b["lbp1_9"] != a["lbp1_9"] or b["lbp1_0"] != a["lbp1_0"]


def test_descriptors_are_deterministic(demo_manifest):
    images = prepare_data(demo_manifest, k=3, fold_seed=0, caches=False).images(16)
    assert np.array_equal(image_descriptors(images), image_descriptors(images.copy()))


def test_descriptors_are_computed_once_and_cached(demo_manifest, tmp_path, monkeypatch):
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path))
    first = prepare_data(demo_manifest, k=3, fold_seed=0).descriptors(16)
    assert len(list(tmp_path.glob("descriptors-v1-16-*.npy"))) == 1

    def never(images):
        raise AssertionError("computed again")

    monkeypatch.setattr(dataset, "image_descriptors", never)
    again = prepare_data(demo_manifest, k=3, fold_seed=0).descriptors(16)  # a new process's view of the data
    assert np.array_equal(first, again) and again.shape == (60, len(DESCRIPTOR_NAMES))
