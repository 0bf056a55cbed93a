"""Every registered fusion, on TensorFlow and on JAX: it trains, every weight of both branches gets a
gradient, and a .keras save/load gives identical predictions.

Cases come from the registry (tests/search/fusion_checks.py), so a new fusion is checked the moment
it is registered. The JAX checks run in one subprocess (KERAS_BACKEND is fixed per process).
"""

from __future__ import annotations


import keras
import pytest

from tests.models.fusion_checks import case_id, check_fusion, fusion_cases, variable_group
from tests.models.on_jax import run_on_jax

CASES = fusion_cases()
IDS = [case_id(fusion, extra) for fusion, extra in CASES]


@pytest.fixture(scope="module")
def tensorflow_checks(tmp_path_factory):
    folder, done = tmp_path_factory.mktemp("tensorflow-models"), {}

    def result(fusion: str, extra: dict) -> dict:
        key = case_id(fusion, extra)
        if key not in done:
            done[key] = {"backend": keras.backend.backend(), **check_fusion(fusion, extra, folder)}
        return done[key]

    return result


@pytest.fixture(scope="module")
def jax_checks(tmp_path_factory):
    results = run_on_jax("tests.models.fusion_checks", tmp_path_factory.mktemp("jax"))
    return lambda fusion, extra: results[case_id(fusion, extra)]


@pytest.fixture(params=["tensorflow", "jax"])
def checked(request):
    """(fusion, extra) -> the check results on this backend."""
    return request.getfixturevalue(f"{request.param}_checks"), request.param


@pytest.mark.parametrize("fusion, extra", CASES, ids=IDS)
def test_fusion_lowers_its_training_loss(checked, fusion, extra):
    results, backend = checked
    result = results(fusion, extra)
    assert result["backend"] == backend
    assert result["loss_after"] < 0.95 * result["loss_before"]


@pytest.mark.parametrize("fusion, extra", CASES, ids=IDS)
def test_fusion_gives_every_weight_of_both_branches_a_gradient(checked, fusion, extra):
    result = checked[0](fusion, extra)
    expected = {"fusion"} | ({"backbone", "image"} if result["uses_image"] else set()) \
        | ({"numeric"} if result["uses_numeric"] else set())
    assert {variable_group(path) for path in result["variables"]} == expected  # a unimodal design has no other branch
    assert result["moved"] == result["variables"]


@pytest.mark.parametrize("fusion, extra", CASES, ids=IDS)
def test_fusion_predicts_identically_after_keras_save_and_load(checked, fusion, extra):
    assert checked[0](fusion, extra)["round_trip_max_diff"] == 0.0
