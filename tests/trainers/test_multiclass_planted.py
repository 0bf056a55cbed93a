"""The planted three-class task of make_multiclass_dataset: the image shows a class's pair (akiec and bcc look
alike, bkl apart), only the table tells akiec from bcc. Trained on the same folds with the same first-try settings,
a fusion design must beat both single modalities by the macro one-vs-rest AUC."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.data import ManifestSpec, fold_indices, make_multiclass_dataset, prepare_data
from fusion_search.designs import Design
from fusion_search.trainers import class_aucs, fold_data, train_fold

FIRST_TRY = dict(backbone="descriptors", image_units=16, numeric_units=16, fusion_units=16, numeric_layers=0,
                 head_layers=0, epochs=30, patience=5, batch_size=32, lr_image=3e-3, lr_numeric=1e-2, lr_fusion=3e-3)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Per design: the out-of-fold scores of 3 folds of a 180-row, 3-class table, and its labels."""
    manifest = make_multiclass_dataset(tmp_path_factory.mktemp("planted"), rows=180, classes=3, image_size=32, seed=0)
    data = prepare_data(manifest, 3, 0, spec=ManifestSpec(label_column="diagnosis", ignore_columns=("site",)))
    out = {}
    for fusion in ("image_only", "numeric_only", "concat"):
        design = Design(fusion=fusion, **FIRST_TRY)
        arrays, scores = fold_data(data, design), np.zeros((data.manifest.rows, 3))
        for fold in range(3):
            train, val = fold_indices(data.folds, fold)
            scores[val] = train_fold(design, arrays, train, val, seed=fold).scores
        out[fusion] = scores
    return out, data.manifest.labels


def test_fusion_beats_both_single_modalities_on_the_macro_auc(scored):
    scores, labels = scored
    macro = {fusion: float(np.mean(class_aucs(labels, s))) for fusion, s in scores.items()}
    assert macro["concat"] > max(macro["image_only"], macro["numeric_only"]) + 0.04, macro


def test_the_image_tells_the_pairs_apart_and_only_fusion_tells_akiec_from_bcc(scored):
    scores, labels = scored
    pair = labels < 2  # akiec and bcc: one disc brightness
    within = {fusion: float(np.mean(class_aucs(labels[pair], s[pair][:, :2]))) for fusion, s in scores.items()}
    assert within["image_only"] < 0.65 < within["concat"], within  # the image cannot tell the pair apart
    bkl = {fusion: class_aucs(labels, s)[2] for fusion, s in scores.items()}
    assert bkl["image_only"] > 0.85 and bkl["concat"] > 0.85, bkl
