"""RowBatches: a fold's rows read batch by batch from the arrays of every row, on every backend."""

from __future__ import annotations

import numpy as np
import pytest

from fusion_search.models import RowBatches
from tests.models.batches_checks import check_batches
from tests.models.on_jax import run_on_jax

N = 50


def _inputs():
    return {"image": np.arange(N * 2 * 2 * 3, dtype=np.uint8).reshape(N, 2, 2, 3) % 251,
            "numeric": np.arange(N * 2, dtype=np.float32).reshape(N, 2)}


def _epoch(batches: RowBatches) -> list:
    return [batches[i] for i in range(len(batches))]


def test_without_a_seed_the_batches_are_the_rows_in_their_order_inputs_only():
    inputs, rows = _inputs(), np.array([7, 3, 30, 31, 32, 0, 49])
    batches = RowBatches(inputs, rows, batch_size=3)
    epoch = _epoch(batches)
    assert len(batches) == 3 and [len(b[0]["numeric"]) for b in epoch] == [3, 3, 1]
    assert all(len(batch) == 1 for batch in epoch)  # (inputs,) when scoring
    for name in inputs:
        assert np.array_equal(np.concatenate([b[0][name] for b in epoch]), inputs[name][rows])


def test_with_a_seed_each_epoch_is_a_new_permutation_of_the_rows_the_same_for_the_same_seed():
    rows = np.arange(5, 45)
    labels = np.arange(N, dtype=np.float32) / N
    first, twin = (RowBatches(_inputs(), rows, 8, labels, seed=3) for _ in range(2))
    orders = []
    for _ in range(3):
        epoch = _epoch(first)
        seen = np.concatenate([x["numeric"][:, 0] / 2 for x, _ in epoch]).astype(int)
        assert sorted(seen) == list(rows)  # every row once
        assert np.allclose(np.concatenate([y for _, y in epoch]), labels[seen])  # targets follow their rows
        assert all(np.array_equal(a[0]["image"], b[0]["image"]) for a, b in zip(epoch, _epoch(twin)))
        orders.append(seen)
        first.on_epoch_end()
        twin.on_epoch_end()
    assert not np.array_equal(orders[0], orders[1]) and not np.array_equal(orders[0], rows)


def test_several_outputs_each_get_the_labels_and_weights_follow_their_rows():
    labels, weights = np.arange(N) % 2, np.arange(N, dtype=np.float32)
    x, y, w = RowBatches(_inputs(), np.array([4, 9, 2]), 3, labels, weights, outputs=["score", "image_score"])[0]
    assert set(y) == {"score", "image_score"} and np.array_equal(y["score"], [0, 1, 0])
    assert y["score"].dtype == np.float32 and np.array_equal(w, [4, 9, 2])


@pytest.fixture(scope="module")
def jax_checks(tmp_path_factory):
    return run_on_jax("tests.models.batches_checks", tmp_path_factory.mktemp("jax-batches"))


def test_a_model_trains_and_scores_over_batches_of_a_cache_entry(tmp_path):
    result = check_batches(str(tmp_path))
    assert result["epochs"] == 2 and result["finite_loss"] and result["scored"] == 100
    assert result["max_difference"] < 1e-5


def test_a_model_trains_and_scores_over_batches_on_jax(jax_checks):
    assert jax_checks["backend"] == "jax"
    assert jax_checks["epochs"] == 2 and jax_checks["finite_loss"] and jax_checks["scored"] == 100
    assert jax_checks["max_difference"] < 1e-5


def _same(a, b) -> bool:
    return all(np.array_equal(a[0][name], b[0][name]) for name in a[0]) and all(
        np.array_equal(x, y) for x, y in zip(a[1:], b[1:]))


def test_reading_ahead_changes_no_batch_in_order_out_of_order_or_across_epochs():
    rows, labels = np.arange(3, 47), np.arange(N) % 2
    ahead, plain = (RowBatches(_inputs(), rows, 5, labels, seed=2, read_ahead=depth) for depth in (3, 0))
    for _ in range(2):
        assert all(_same(a, b) for a, b in zip(_epoch(ahead), _epoch(plain)))
        for index in (4, 0, 1, 8, 2):  # out of sequence: the read-ahead starts again from the batch asked for
            assert _same(ahead[index], plain[index])
        ahead.on_epoch_end()
        plain.on_epoch_end()
    ahead.close()


def test_a_batch_past_the_end_is_an_index_error():
    batches = RowBatches(_inputs(), np.arange(10), 4)
    with pytest.raises(IndexError):
        batches[3]
