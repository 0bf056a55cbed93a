"""Tree files of K classes (format 3): one tree per class and iteration, scored exactly as scikit-learn scores
them; files of earlier formats (one class) still load and score the same."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier

from fusion_search import UserError
from fusion_search.serving._tree_file import from_sklearn, load_trees, save_trees


def _three_classes(rows: int = 900):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(rows, 4))
    x[:, 1] = rng.integers(0, 12, rows)  # a category code
    x[rng.random(x.shape) < 0.1] = np.nan
    y = np.where(np.nan_to_num(x[:, 0]) > 0.5, 2, np.where(np.isin(x[:, 1], [2, 5, 7]), 1, 0))
    return x, y


def test_k_class_trees_with_categories_and_gaps_score_exactly_as_scikit_learn(tmp_path):
    x, y = _three_classes()
    trees = HistGradientBoostingClassifier(max_iter=30, categorical_features=[1], random_state=0).fit(x[:600], y[:600])
    save_trees(from_sklearn(trees), tmp_path / "trees.npz")
    loaded = load_trees(tmp_path / "trees.npz")
    unseen = x[600:]
    assert loaded.baseline.shape == (3,) and set(loaded.tree_class.tolist()) == {0, 1, 2}
    np.testing.assert_allclose(loaded.raw(unseen), trees.decision_function(unseen), rtol=0, atol=1e-12)
    np.testing.assert_allclose(loaded.predict_proba(unseen), trees.predict_proba(unseen), rtol=0, atol=1e-12)


def test_a_format_2_file_of_two_classes_still_loads_and_scores_the_same(tmp_path):
    x, y = _three_classes()
    y = (y == 2).astype(int)
    trees = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y)
    save_trees(from_sklearn(trees), tmp_path / "new.npz")
    with np.load(tmp_path / "new.npz") as saved:  # as format 2 wrote it: a scalar baseline, no tree classes
        old = {name: saved[name] for name in saved.files if name != "tree_class"}
    old.update(format_version=np.int64(2), baseline=np.float64(old["baseline"][0]))
    np.savez(tmp_path / "old.npz", **old)
    np.testing.assert_allclose(load_trees(tmp_path / "old.npz").predict_proba(x), trees.predict_proba(x)[:, 1],
                               rtol=0, atol=1e-12)


def test_a_tree_naming_a_class_the_file_has_no_baseline_for_is_refused(tmp_path):
    x, y = _three_classes()
    trees = HistGradientBoostingClassifier(max_iter=5, random_state=0).fit(x, y)
    save_trees(from_sklearn(trees), tmp_path / "trees.npz")
    with np.load(tmp_path / "trees.npz") as saved:
        broken = {name: saved[name] for name in saved.files}
    broken["tree_class"] = broken["tree_class"] + 1
    np.savez(tmp_path / "broken.npz", **broken)
    with pytest.raises(UserError, match="not a valid tree file"):
        load_trees(tmp_path / "broken.npz")
