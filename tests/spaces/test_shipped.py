"""The shipped spaces: every fusion family in default, quick and balanced, conditional knobs sampled only for
their fusion, quick and balanced kept small enough for a CPU, the backbones each offers, seed.yaml holding the
question's model and the answer's options."""

from __future__ import annotations

import optuna
import pytest

from fusion_search.designs import DESCRIPTORS, PIXEL_NETWORK_FIELDS, TREE_FIELDS, field_group, get_kind, list_designs
from fusion_search.spaces import load_space, suggest_design

SEARCHING = ["default", "quick", "balanced"]  # the spaces that search every design


@pytest.mark.parametrize("name", SEARCHING)
def test_default_and_quick_search_every_registered_fusion(name):
    assert set(list_designs()) <= set(load_space(name).fusions)


def sampled(space, trials: int, seed: int):
    """(optuna params, design) of `trials` random trials of a space."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(trials):
        trial = study.ask()
        design = suggest_design(trial, space)
        study.tell(trial, 0.5)
        yield trial.params, design


@pytest.mark.parametrize("name", SEARCHING)
def test_a_fusion_s_own_knobs_are_sampled_only_when_that_fusion_is(name):
    space = load_space(name)
    knobs = [p.name for p in space.params if field_group(p.name) == "fusion" and p.name != "fusion"]
    seen = set()
    for params, design in sampled(space, 120, seed=0):
        seen.add(design.fusion)
        assert {k for k in knobs if k in params} == {k for k in knobs if k in get_kind(design.fusion).reads}
    assert set(list_designs()) <= seen


@pytest.mark.parametrize("name", SEARCHING)
def test_a_trial_records_only_the_parameters_its_design_uses(name):
    """A tree design samples no widths, learning rates or batch size; no design samples another's knobs."""
    seen = set()
    for params, design in sampled(load_space(name), 200, seed=1):
        seen.add(design.fusion)
        assert all(get_kind(design.fusion).uses_field(p) for p in params), (design.fusion, params)
        if design.fusion == "gbdt_only":
            assert set(params) <= {"fusion", *TREE_FIELDS}, params
    assert "gbdt_only" in seen


@pytest.mark.parametrize("name", ["default", "balanced", "quick"])
def test_a_descriptor_trial_samples_nothing_that_sizes_trains_or_augments_a_network_on_pixels(name):
    space = load_space(name)
    assert {p.name for p in space.params} & set(PIXEL_NETWORK_FIELDS), f"{name} searches no pixel-network field"
    backbones = set()
    for params, design in sampled(space, 150, seed=2):
        if "backbone" in params:
            backbones.add(design.backbone)
            pixel_fields = set(PIXEL_NETWORK_FIELDS) & set(params)
            assert not pixel_fields if design.backbone == DESCRIPTORS else "descriptor_size" not in params
    assert DESCRIPTORS in backbones and len(backbones) > 1


def test_quick_stays_small_enough_for_a_cpu():
    space = load_space("quick")
    assert set(space.param("backbone").choices) == {"small_cnn", "descriptors"} and space.fixed["weights"] == "none"
    assert space.fixed["image_size"] <= 32 and space.fixed["epochs"] <= 30
    assert max(space.param("batch_size").choices) <= 64


def test_balanced_trains_a_deeper_cnn_on_larger_images_with_augmentation_on_or_off():
    space = load_space("balanced")
    assert set(space.param("backbone").choices) == {"small_cnn_deep", "descriptors"}
    assert space.fixed["weights"] == "none" and space.fixed["trainable_blocks"] == 5  # from scratch, every block
    assert space.image_sizes == (64, 96)
    assert set(space.param("augmentation").choices) == {"none", "flip_rotate_color"}
    assert space.fixed["epochs"] <= 20 and max(space.param("batch_size").choices) <= 64


def test_default_offers_every_imagenet_backbone_the_descriptors_and_augmentation():
    space = load_space("default")
    assert set(space.param("backbone").choices) == {"vgg16", "resnet50", "efficientnetb0", "mobilenetv3small",
                                                    "convnexttiny", "descriptors"}
    assert space.fixed["weights"] == "imagenet" and space.defaults["backbone"] == "vgg16"
    assert set(space.param("augmentation").choices) == {"none", "flip", "flip_rotate_color"}


def test_seed_is_the_question_s_model_with_the_answer_s_alternatives():
    space = load_space("seed")
    fixed = space.fixed
    assert (fixed["backbone"], fixed["weights"], fixed["image_size"]) == ("vgg16", "imagenet", 224)
    assert fixed["trainable_blocks"] >= 1  # fine-tuned
    assert (fixed["image_units"], fixed["numeric_units"], fixed["numeric_activation"]) == (256, 128, "relu")
    assert (fixed["head_layers"], fixed["head_units"]) == (1, 64)
    assert (fixed["multiply_image_activation"], fixed["multiply_numeric_activation"]) == ("sigmoid", "relu")
    assert {"concat", "multiply"} <= set(space.fusions)
    assert set(space.param("image_activation").choices) == {"sigmoid", "relu"}
    assert set(space.param("image_norm").choices) == {"none", "batch"}
    # the question's exact model is where the search starts
    assert (space.defaults["fusion"], space.defaults["image_activation"], space.defaults["image_norm"]) == (
        "concat", "sigmoid", "none")
