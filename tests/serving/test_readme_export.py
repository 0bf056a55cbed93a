"""The README's list of an exported Keras model's inputs and custom layers is read against real exports: a design
on pixels with numeric and categorical columns, and one on the classical descriptors."""

from __future__ import annotations

import re
from pathlib import Path

import keras
import numpy as np
import pytest

from fusion_search.data import manifest_images, read_manifest
from fusion_search.designs import Design
from fusion_search.serving._export_model import save_atomically, train_final_model
from tests.conftest import write_manifest

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- exported inputs: tests/serving/test_readme_export.py reads this list -->"
SMALL = dict(image_size=16, descriptor_size=16, weights="none", epochs=1, patience=0, image_units=4, numeric_width=4,
             numeric_units=4, fusion_units=4, head_units=4, batch_size=16)


def readme_list() -> dict[str, str]:
    """name -> its text, for each `- \\`name\\`` bullet under the marker (continued on indented lines)."""
    text = README.read_text()
    assert MARKER in text, "the README's list of exported inputs is missing"
    block = text.split(MARKER, 1)[1].strip().split("\n\n", 1)[0]
    return {m.group(1): " ".join(item.split()) for item in re.split(r"\n(?=- )", block)
            if (m := re.match(r"- `(\w+)`", item))}


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, keras.Model]:
    folder = tmp_path_factory.mktemp("readme")
    rng = np.random.default_rng(3)
    rows = [{"image": f"i/{i}.png", "label": i % 2, "site": ["a", "b", "c"][i % 3], "age": f"{rng.normal():.2f}"}
            for i in range(40)]
    manifest = read_manifest(write_manifest(folder, rows, [rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)
                                                          for _ in rows]))
    loaded = {}
    for name, backbone in (("pixels", "small_cnn"), ("descriptors", "descriptors")):
        design = Design(fusion="concat", backbone=backbone, **SMALL)
        model = train_final_model(design, manifest, manifest_images(manifest, design.decode_size), seed=0)
        save_atomically(model, folder / f"{name}.keras")
        loaded[name] = keras.saving.load_model(folder / f"{name}.keras", safe_mode=True, compile=False)
    return loaded


def test_every_input_of_a_real_export_is_in_the_readme_and_every_listed_input_occurs(exports):
    listed = readme_list()
    seen = {tensor.name for model in exports.values() for tensor in model.inputs}
    assert seen == set(listed)
    assert {t.name for t in exports["pixels"].inputs} == {"image", "numeric", "categorical"}
    assert {t.name for t in exports["descriptors"].inputs} == {"image_features", "numeric", "categorical"}


def test_each_listed_input_names_its_dtype_and_the_layer_that_describes_it(exports):
    listed = readme_list()
    for model in exports.values():
        for tensor in model.inputs:
            assert f"`{tensor.dtype}`" in listed[tensor.name], (tensor.name, tensor.dtype)
    for model in exports.values():
        custom = {type(layer).__name__ for layer in model.layers if type(layer).__module__.startswith("fusion_search")}
        for layer in custom & {"NumericPreprocess", "CategoricalVocabulary", "ImageDescriptors"}:
            assert any(layer in line for line in listed.values()), layer
