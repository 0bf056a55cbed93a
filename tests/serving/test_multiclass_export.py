"""Every design trains on three classes, exports, and `predict` gives back the in-memory model's K probabilities
(one p_<class> column each, and the most probable class as `predicted`), on TensorFlow and on JAX."""

from __future__ import annotations

import pytest

from fusion_search.designs import list_designs
from tests.models.on_jax import run_on_jax
from tests.serving.multiclass_export_checks import CLASSES, check_designs


@pytest.fixture(scope="module")
def on_tensorflow(tmp_path_factory):
    return check_designs(tmp_path_factory.mktemp("tensorflow"))


@pytest.fixture(scope="module")
def on_jax(tmp_path_factory):
    return run_on_jax("tests.serving.multiclass_export_checks", tmp_path_factory.mktemp("jax"))


@pytest.fixture(params=["on_tensorflow", "on_jax"])
def checked(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("fusion", list_designs())
def test_the_exported_design_predicts_its_in_memory_class_probabilities(checked, fusion):
    result = checked[fusion]
    assert result["code"] == 0 and result["shape"] == [72, CLASSES]
    assert result["largest_difference"] <= 2e-6  # predictions.csv keeps 6 decimals
    assert result["sum_error"] <= 1e-5  # a distribution over the classes
    assert result["predicted_is_most_probable"]
    assert result["distinct_scores"] > 20  # real scores, not a constant
