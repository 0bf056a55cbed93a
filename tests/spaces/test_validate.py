"""Space validation: every malformed space is refused with one error naming the file, the key and the reason."""

from __future__ import annotations

import copy

import pytest

from fusion_search import UserError
from fusion_search.designs import Design, get_kind, list_designs
from fusion_search.spaces import load_space, parse_space

SOURCE = "my-space.yaml"
VALID = {
    "description": "a small valid space",
    "fixed": {"backbone": "small_cnn", "weights": "none", "image_size": 16},
    "search": {
        "fusion": {"choices": ["concat", "multiply"]},
        "image_units": {"low": 8, "high": 32, "log": True},
        "fusion_units": {"low": 8, "high": 32},
        "multiply_image_activation": {"choices": ["sigmoid", "relu"]},
        "multiply_numeric_activation": {"choices": ["relu", "linear"]},
        "lr_fusion": {"low": 1.0e-4, "high": 1.0e-2, "log": True},
        "head_units": {"choices": [8, 16], "when": {"fusion": ["concat"]}},
    },
    "defaults": {"image_units": 16},
}


def space_with(change) -> dict:
    raw = copy.deepcopy(VALID)
    change(raw)
    return raw


def refusal(raw) -> str:
    with pytest.raises(UserError) as error:
        parse_space(raw, "mine", SOURCE)
    message = str(error.value)
    assert message.startswith(f"{SOURCE}: ") and "\n" not in message  # the file first, one line
    return message


def test_the_valid_space_parses_with_baselines_added():
    space = parse_space(copy.deepcopy(VALID), "mine", SOURCE)
    assert set(space.fusions) >= {"concat", "multiply", "image_only", "numeric_only"}
    assert space.defaults["image_units"] == 16


# (test id, change to the valid space, the key the error names, a phrase of its reason)
MALFORMED = [
    ("top-level-not-a-mapping", None, "(top level)", "must be a mapping"),
    ("unknown-top-level-key", lambda r: r.update(serach={}), "serach", "unknown key"),
    ("fixed-not-a-mapping", lambda r: r.update(fixed=["backbone"]), "fixed", "must be a mapping"),
    ("fixed-unknown-field", lambda r: r["fixed"].update(image_unit=8), "fixed.image_unit", "unknown design field"),
    ("fixed-unknown-backbone", lambda r: r["fixed"].update(backbone="resnet9000"), "fixed.backbone", "unknown value"),
    ("fixed-unknown-activation", lambda r: r["fixed"].update(image_activation="sigmod"), "fixed.image_activation",
     "unknown value"),
    ("fixed-unknown-film-target", lambda r: r["fixed"].update(film_target="map"), "fixed.film_target",
     "unknown value"),
    ("fixed-unknown-class-weight", lambda r: r["fixed"].update(class_weight="auto"), "fixed.class_weight",
     "unknown value"),
    ("fixed-text-for-a-number", lambda r: r["fixed"].update(epochs="ten"), "fixed.epochs", "must be a number"),
    ("fixed-fraction-for-an-integer", lambda r: r["fixed"].update(epochs=2.5), "fixed.epochs", "must be an integer"),
    ("fixed-zero-width", lambda r: r["fixed"].update(numeric_units=0), "fixed.numeric_units", "at least 1"),
    ("search-not-a-mapping", lambda r: r.update(search=["fusion"]), "search", "must be a mapping"),
    ("search-unknown-field", lambda r: r["search"].update(bilinear_rnak={"low": 1, "high": 4}),
     "search.bilinear_rnak", "unknown design field"),
    ("fixed-and-searched", lambda r: r["fixed"].update(image_units=8), "search.image_units",
     "both fixed and searched"),
    ("param-not-a-mapping", lambda r: r["search"].update(head_units=[8, 16]), "search.head_units", "must be a mapping"),
    ("param-unknown-key", lambda r: r["search"]["image_units"].update(scale="log"), "search.image_units.scale",
     "unknown key"),
    ("choices-and-range", lambda r: r["search"]["fusion"].update(low=1), "search.fusion", "either choices or low/high"),
    ("empty-choices", lambda r: r["search"]["fusion"].update(choices=[]), "search.fusion.choices", "non-empty list"),
    ("choices-not-a-list", lambda r: r["search"]["fusion"].update(choices="concat"), "search.fusion.choices",
     "non-empty list"),
    ("duplicate-choices", lambda r: r["search"]["fusion"].update(choices=["concat", "concat"]),
     "search.fusion.choices", "duplicates"),
    ("unknown-fusion", lambda r: r["search"]["fusion"].update(choices=["concat", "bilinar"]),
     "search.fusion.choices", "unknown value 'bilinar'"),
    ("missing-high", lambda r: r["search"]["image_units"].pop("high"), "search.image_units.high", "missing"),
    ("bound-not-a-number", lambda r: r["search"]["image_units"].update(low="8"), "search.image_units.low",
     "not a number"),
    ("low-above-high", lambda r: r["search"]["fusion_units"].update(low=64), "search.fusion_units", "low (64) > high"),
    ("log-with-zero-low", lambda r: r["search"]["lr_fusion"].update(low=0.0), "search.lr_fusion.low",
     "positive low bound"),
    ("log-with-negative-low", lambda r: r["search"]["lr_fusion"].update(low=-1.0e-3), "search.lr_fusion.low",
     "positive low bound"),
    ("step-not-positive", lambda r: r["search"]["fusion_units"].update(step=0), "search.fusion_units.step",
     "positive number"),
    ("step-with-log", lambda r: r["search"]["image_units"].update(step=2), "search.image_units",
     "step and log cannot be combined"),
    ("fraction-bounds-for-an-integer", lambda r: r["search"]["fusion_units"].update(low=8.5), "search.fusion_units",
     "integer field"),
    ("width-range-from-zero", lambda r: r["search"]["fusion_units"].update(low=0), "search.fusion_units.low",
     "at least 1"),
    ("when-not-a-mapping", lambda r: r["search"]["head_units"].update(when="concat"), "search.head_units.when",
     "must map a parent field"),
    ("when-empty", lambda r: r["search"]["head_units"].update(when={"fusion": []}), "search.head_units.when.fusion",
     "non-empty list"),
    ("when-parent-not-searched", lambda r: r["search"]["head_units"].update(when={"backbone": ["small_cnn"]}),
     "search.head_units.when", "not a searched categorical field"),
    ("when-value-not-a-choice", lambda r: r["search"]["head_units"].update(when={"fusion": ["gated"]}),
     "search.head_units.when", "not among the choices of 'fusion'"),
    ("defaults-not-a-mapping", lambda r: r.update(defaults=[1]), "defaults", "must be a mapping"),
    ("default-for-unsearched-field", lambda r: r["defaults"].update(numeric_units=8), "defaults.numeric_units",
     "not a searched field"),
    ("default-outside-range", lambda r: r["defaults"].update(image_units=64), "defaults.image_units",
     "outside the searched range"),
    ("default-not-a-choice", lambda r: r["defaults"].update(fusion="gated"), "defaults.fusion",
     "outside the searched range"),
    ("first-tries-not-a-list", lambda r: r.update(first_tries={"fusion": "concat"}), "first_tries",
     "must be a list"),
    ("first-try-without-fusion", lambda r: r.update(first_tries=[{"image_units": 8}]), "first_tries[0]",
     "with a fusion"),
    ("first-try-of-an-unsearched-fusion", lambda r: r.update(first_tries=[{"fusion": "gated"}]),
     "first_tries[0].fusion", "not a fusion design the space searches"),
    ("first-try-of-a-baseline", lambda r: r.update(first_tries=[{"fusion": "image_only"}]),
     "first_tries[0].fusion", "not a fusion design the space searches"),
    ("first-try-of-an-unsearched-field", lambda r: r.update(first_tries=[{"fusion": "concat", "numeric_units": 8}]),
     "first_tries[0].numeric_units", "not a searched field"),
    ("first-try-outside-range", lambda r: r.update(first_tries=[{"fusion": "multiply", "fusion_units": 64}]),
     "first_tries[0].fusion_units", "outside the searched range"),
]


@pytest.mark.parametrize("change, key, reason", [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_space_is_refused_naming_file_key_and_reason(change, key, reason):
    message = refusal("not a mapping" if change is None else space_with(change))
    assert f"{SOURCE}: {key}: " in message
    assert reason in message


REQUIRED = [(name, field) for name in list_designs()
            for field in get_kind(name).reads if field not in get_kind(name).optional]


@pytest.mark.parametrize("fusion, field", REQUIRED, ids=[f"{n}-{f}" for n, f in REQUIRED])
def test_a_fusion_whose_width_or_setting_the_space_does_not_give_is_refused(fusion, field):
    raw = {"fixed": {name: getattr(Design(), name) for name in get_kind(fusion).reads if name != field},
           "search": {"fusion": {"choices": [fusion]}}}
    message = refusal(raw)
    assert f"{SOURCE}: search.fusion: fusion '{fusion}' needs {field}" in message


def test_every_fusion_with_knobs_needs_at_least_one_of_them_given():
    assert ("bilinear", "bilinear_rank") in REQUIRED and ("multiply", "fusion_units") in REQUIRED
    assert ("attention", "attention_heads") in REQUIRED


@pytest.mark.parametrize("fusion", [n for n in list_designs() if get_kind(n).optional])
def test_a_fusion_s_optional_switch_may_be_left_to_the_design_default(fusion):
    cls = get_kind(fusion)
    raw = {"fixed": {name: getattr(Design(), name) for name in cls.reads if name not in cls.optional},
           "search": {"fusion": {"choices": [fusion]}}}
    assert fusion in parse_space(raw, "mine", SOURCE).fusions


def test_a_space_file_that_is_not_yaml_is_refused_with_its_path(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("search: {fusion: [concat\n")
    with pytest.raises(UserError, match=r"broken\.yaml: not valid YAML"):
        load_space(str(path))


def test_a_missing_space_file_and_an_unknown_space_name_are_refused(tmp_path):
    with pytest.raises(UserError, match="space file not found"):
        load_space(str(tmp_path / "nowhere.yaml"))
    with pytest.raises(UserError, match="unknown space 'quik'; shipped spaces: .*quick"):
        load_space("quik")


def test_first_tries_are_the_defaults_with_each_familys_overrides_in_the_order_given():
    from fusion_search.spaces import first_try_params

    raw = space_with(lambda r: r.update(first_tries=[
        {"fusion": "multiply", "multiply_image_activation": "sigmoid", "multiply_numeric_activation": "linear"},
        {"fusion": "concat", "image_units": 32}]))
    space = parse_space(raw, "mine", SOURCE)
    multiply, concat = first_try_params(space)
    assert multiply["fusion"] == "multiply" and multiply["multiply_numeric_activation"] == "linear"
    assert multiply["image_units"] == 16 and "head_units" not in multiply  # a default; a field concat alone reads
    assert concat["fusion"] == "concat" and concat["image_units"] == 32 and concat["head_units"] in (8, 16)
    assert space.record()["first_tries"] == raw["first_tries"]
    assert "first_tries" not in parse_space(copy.deepcopy(VALID), "mine", SOURCE).record()  # as it always recorded
