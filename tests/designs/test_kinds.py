"""Design kinds: every registered design can be built or trained, the baselines are the single-modality
designs, and a design samples and records only the fields it uses."""

from __future__ import annotations

import pytest

from fusion_search import UserError
from fusion_search.designs import (
    DESCRIPTORS,
    TREE_FIELDS,
    baseline_fusions,
    design_fields,
    get_kind,
    list_backbones,
    list_designs,
    list_fusions,
)
from fusion_search.models import registered_backbones, registered_fusions
from fusion_search.trainers import get_trainer


def test_every_neural_design_has_a_keras_builder_and_nothing_else_does():
    assert registered_fusions() == list_fusions()


@pytest.mark.parametrize("name", list_designs())
def test_every_design_has_a_trainer_that_can_train_it(name):
    trainer = get_trainer(get_kind(name).trainer)
    assert callable(trainer.train_fold) and callable(trainer.fold_data)


def test_every_backbone_a_space_may_name_is_built_or_is_the_descriptors():
    assert registered_backbones() == [name for name in list_backbones() if name != DESCRIPTORS]


def test_the_baselines_are_the_designs_that_see_one_input():
    assert baseline_fusions() == ["image_only", "numeric_only", "gbdt_only"]


def test_an_unknown_design_is_a_user_error_listing_the_known_ones():
    with pytest.raises(UserError, match="unknown fusion type 'concatenate'; known: add, attention"):
        get_kind("concatenate")


FIELDS = set(design_fields())
NETWORK_FIELDS = {"batch_size", "epochs", "patience", "lr_fusion", "weight_decay", "class_weight"}


@pytest.mark.parametrize("name, uses, ignores", [
    ("gbdt_only", {"fusion", *TREE_FIELDS}, {"backbone", "image_units", "numeric_units", "head_units",
                                              *NETWORK_FIELDS}),
    ("gbdt_on_embedding", {"fusion", "backbone", "weights", "image_size", "embedding_dims", *TREE_FIELDS},
     {"image_units", "numeric_units", "trainable_blocks", "lr_backbone", *NETWORK_FIELDS}),
    ("stacked", {"image_units", "trainable_blocks", "head_units", "stacked_inner_folds", *TREE_FIELDS,
                 *NETWORK_FIELDS}, {"numeric_units", "numeric_layers", "lr_numeric", "fusion_units"}),
    ("image_only", {"image_units", "head_units", *NETWORK_FIELDS}, {"numeric_units", "fusion_units", *TREE_FIELDS}),
    ("late", {"image_units", "numeric_units", "late_aux_weight", *NETWORK_FIELDS}, {"head_units", "head_layers"}),
    ("multiply", {"fusion_units", "multiply_image_activation", "head_units"}, {"bilinear_rank", *TREE_FIELDS}),
])
def test_a_design_uses_exactly_the_fields_it_reads(name, uses, ignores):
    kind = get_kind(name)
    assert {f for f in uses if not kind.uses_field(f)} == set()
    assert {f for f in ignores if kind.uses_field(f)} == set()
    assert uses | ignores <= FIELDS


def test_a_tree_design_uses_no_field_a_network_needs():
    used = {f for f in FIELDS if get_kind("gbdt_only").uses_field(f)}
    assert used == {"fusion", *TREE_FIELDS}
