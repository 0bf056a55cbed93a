"""Fold assignment: stratified, grouped, fixed for a study, and checked for enough samples."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search import UserError
from fusion_search.data import assign_folds, fold_indices, holdout_mask


def test_folds_are_stratified():
    labels = np.array([1] * 30 + [0] * 70)
    folds = assign_folds(labels, k=5, seed=3)
    for fold in range(5):
        assert labels[folds == fold].sum() == 6
        assert (folds == fold).sum() == 20


def test_same_seed_same_folds_other_seed_other_folds():
    labels = np.random.default_rng(0).integers(0, 2, 200)
    assert np.array_equal(assign_folds(labels, 5, seed=1), assign_folds(labels, 5, seed=1))
    assert not np.array_equal(assign_folds(labels, 5, seed=1), assign_folds(labels, 5, seed=2))


def test_a_group_never_spans_two_folds():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 300)
    labels = (rng.random(300) < 0.4).astype(int)
    folds = assign_folds(labels, 4, seed=0, groups=groups)
    for group in np.unique(groups):
        assert len(np.unique(folds[groups == group])) == 1


def test_fold_indices_partition_the_samples():
    labels = np.array([0, 1] * 10)
    folds = assign_folds(labels, 4, seed=0)
    seen = np.concatenate([fold_indices(folds, f)[1] for f in range(4)])
    assert sorted(seen.tolist()) == list(range(20))
    train, val = fold_indices(folds, 0)
    assert not set(train) & set(val)


def test_fewer_rows_of_a_class_than_folds_is_refused_naming_the_folds_that_would_do():
    labels = np.array([1, 1, 1] + [0] * 20)
    with pytest.raises(UserError, match=r"^the positive class has only 3 rows for 5 folds, and each fold needs one: "
                                        r"use --folds 3 or fewer, or add rows of it to the manifest$"):
        assign_folds(labels, 5, seed=0)


def test_fewer_groups_of_a_class_than_folds_is_refused():
    labels = np.array([1] * 10 + [0] * 10)
    groups = np.array([0] * 10 + list(range(1, 11)))
    with pytest.raises(UserError, match=r"^the positive class is in only 1 group for 3 folds, and each fold needs one: "
                                        r"add rows of it from more groups$"):
        assign_folds(labels, 3, seed=0, groups=groups)


def test_at_two_folds_a_too_rare_class_is_offered_no_fewer_folds_but_what_can_be_done():
    """--folds 2 is the least: the hint is a holdout that takes fewer rows, or more rows of the class."""
    labels = np.array([1, 1] + [0] * 20)
    held_out = np.zeros(22, dtype=bool)
    held_out[[0, 5, 6]] = True  # one of the two positive rows, and two negative ones
    with pytest.raises(UserError) as raised:
        assign_folds(labels, 2, seed=0, held_out=held_out)
    assert str(raised.value) == ("the positive class has only 1 row for 2 folds, and each fold needs one: hold out "
                                 "fewer rows (a smaller --holdout), or add rows of it to the manifest")
    assert "fewer --folds" not in str(raised.value)


def test_a_class_too_rare_for_the_folds_is_named_in_a_sentence_with_the_merge_that_would_do():
    labels = np.array([0] * 20 + [1] * 10 + [2])
    with pytest.raises(UserError) as raised:
        assign_folds(labels, 2, seed=0, class_names=("ant", "bee", "bird"))
    assert str(raised.value) == (
        "class 'bird' has only 1 row for 2 folds, and each fold needs one: merge it into another class "
        "(--merge-classes bird,OTHER), drop its rows, or add rows of it to the manifest")


def test_a_fold_the_grouping_leaves_without_a_class_names_the_class_and_at_two_folds_no_fewer_folds():
    labels = np.array([0] * 6 + [1, 1, 1, 1, 0] + [1, 0, 0])
    groups = np.array([0] * 6 + [1] * 5 + [2] * 3)  # the positive rows in two groups, which share fold 1
    with pytest.raises(UserError) as raised:
        assign_folds(labels, 2, seed=0, groups=groups)
    assert "has no row of the positive class with this grouping" in str(raised.value)
    assert str(raised.value).endswith(": add rows of it from more groups")


@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.4, 0.45])
def test_a_grouped_holdout_holds_out_about_the_share_asked_in_whole_groups(fraction):
    rng = np.random.default_rng(4)
    groups = rng.integers(0, 150, 600)  # about 4 rows a group
    labels = (rng.random(600) < 0.3).astype(int)
    held = holdout_mask(labels, fraction, seed=0, groups=groups)
    assert abs(held.mean() - fraction) < 0.02, held.mean()
    assert abs(labels[held].mean() - labels.mean()) < 0.03  # stratified
    assert not set(groups[held]) & set(groups[~held])  # whole groups
    assert np.array_equal(held, holdout_mask(labels, fraction, seed=0, groups=groups))


def test_three_classes_are_stratified_into_every_fold():
    labels = np.repeat([0, 1, 2], [30, 12, 6])
    folds = assign_folds(labels, 3, seed=1)
    for fold in range(3):
        assert np.bincount(labels[folds == fold], minlength=3).tolist() == [10, 4, 2]


def test_a_class_of_fewer_rows_than_folds_is_refused_with_the_ways_out():
    labels = np.repeat([0, 1, 2], [30, 12, 2])
    with pytest.raises(UserError, match=r"^class 2 has only 2 rows for 3 folds, and each fold needs one: use "
                                        r"--folds 2, merge it into another class \(--merge-classes 2,OTHER\), drop "
                                        r"its rows, or add rows of it to the manifest$"):
        assign_folds(labels, 3, seed=0)
    with pytest.raises(UserError, match="^class 'vasc' has only 2 rows for 3 folds"):
        assign_folds(labels, 3, seed=0, class_names=("nv", "mel", "vasc"))


def test_a_grouped_holdout_of_three_classes_holds_out_each_about_its_share():
    rng = np.random.default_rng(5)
    groups = rng.integers(0, 200, 800)
    labels = rng.choice(3, size=800, p=[0.6, 0.3, 0.1])
    held = holdout_mask(labels, 0.25, seed=0, groups=groups)
    for value in range(3):
        assert abs(held[labels == value].mean() - 0.25) < 0.05, value
    assert not set(groups[held]) & set(groups[~held])
