"""Out-of-fold scores kept in the study: one score a row, or K class scores a row, NaN where a fold diverged."""

from __future__ import annotations

import numpy as np
import optuna

from fusion_search.study._oof import MAX_OOF_VALUES, oof_scores, save_oof_scores


def _stored(scores: np.ndarray) -> np.ndarray | None:
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    trial = study.ask()
    save_oof_scores(trial, scores)
    study.tell(trial, 0.5)
    return oof_scores(study.trials[0])


def test_one_score_a_row_comes_back_rounded_with_nan_kept():
    back = _stored(np.array([0.12345, np.nan, 0.9]))
    np.testing.assert_array_equal(back, [0.1235, np.nan, 0.9])


def test_class_scores_come_back_as_rows_of_k_with_a_diverged_row_nan():
    scores = np.array([[0.2, 0.3, 0.5], [np.nan, 0.1, 0.9], [0.7, 0.2, 0.1]])
    back = _stored(scores)
    assert back.shape == (3, 3)
    np.testing.assert_array_equal(back[[0, 2]], scores[[0, 2]])
    assert np.isnan(back[1]).all()


def test_too_many_class_scores_are_not_kept():
    assert _stored(np.full((MAX_OOF_VALUES // 4 + 1, 4), 0.25)) is None
