"""A design: every choice that defines one fused model and how it is trained, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from fusion_search._errors import UserError

DESCRIPTORS = "descriptors"  # the backbone that is no network: classical image descriptors (fusion_search.data)
PIXEL_NETWORK_FIELDS = ("weights", "image_size", "trainable_blocks", "augmentation", "lr_backbone")


def _f(default: Any, group: str, doc: str) -> Any:
    """A design field with its group (which part of the model it belongs to) and a one-line meaning."""
    return field(default=default, metadata={"group": group, "doc": doc})


@dataclass(frozen=True)
class Design:
    """One point of the search space.

    Each field's group says when it matters (``DesignKind.uses_field``): backbone fields for designs
    that see images; image, numeric, head and train fields for designs that train a network with that
    part; fusion fields for the designs that read them.
    """

    fusion: str = _f("concat", "fusion", "registered design name (fusion-search spaces lists them)")
    # image branch
    backbone: str = _f("vgg16", "backbone", "vgg16 | resnet50 | efficientnetb0 | mobilenetv3small | convnexttiny | small_cnn | small_cnn_deep | descriptors")
    weights: str = _f("imagenet", "backbone", "imagenet | none | path to a local .weights.h5 file")
    image_size: int = _f(224, "backbone", "images are resized to image_size x image_size for a network")
    descriptor_size: int = _f(128, "backbone", "descriptors: images are described at this size instead (no network "
                                               "sees them, so a CPU affords more pixels)")
    trainable_blocks: int = _f(0, "image", "top backbone blocks fine-tuned; 0 = frozen")
    augmentation: str = _f("none", "image", "none | flip | flip_rotate_color: random horizontal flips, rotations up "
                                            "to ~11 degrees, brightness and contrast +-10%, in training only "
                                            "(networks on pixels; the descriptors are not augmented)")
    image_units: int = _f(256, "image", "width of the image branch output")
    image_activation: str = _f("relu", "image", "activation of the image branch output")
    image_norm: str = _f("none", "image", "none | batch | layer normalisation before that activation")
    image_dropout: float = _f(0.0, "image", "dropout on the image branch output")
    # numeric branch
    numeric_layers: int = _f(1, "numeric", "hidden layers of the numeric MLP")
    numeric_width: int = _f(64, "numeric", "width of each hidden layer")
    numeric_units: int = _f(128, "numeric", "width of the numeric branch output")
    numeric_activation: str = _f("relu", "numeric", "activation of the numeric branch output")
    numeric_norm: str = _f("none", "numeric", "none | batch | layer normalisation before that activation")
    numeric_dropout: float = _f(0.0, "numeric", "dropout on the numeric branch output")
    categorical_encoding: str = _f("auto", "numeric", "auto | onehot | embedding: how categorical columns enter "
                                                      "(auto: one-hot up to 10 levels, embedded beyond)")
    # fusion and head
    fusion_units: int = _f(64, "fusion", "common width d that projecting fusions map both branches to")
    multiply_image_activation: str = _f("sigmoid", "fusion", "multiply: activation of the projected image side")
    multiply_numeric_activation: str = _f("relu", "fusion", "multiply: activation of the projected numeric side")
    bilinear_rank: int = _f(4, "fusion", "bilinear: rank r of the low-rank bilinear map")
    film_target: str = _f("pooled", "fusion", "film: modulate the pooled image vector or the backbone's feature_map")
    attention_heads: int = _f(2, "fusion", "attention: heads of the multi-head attention over the tokens")
    attention_tokens: str = _f("branches", "fusion", "attention: branches | feature_map (+ a token per map position)")
    late_aux_weight: float = _f(0.0, "fusion", "late: weight of each branch's own auxiliary loss; 0 = off")
    # gradient-boosted trees (gbdt_only, stacked, gbdt_on_embedding): scikit-learn HistGradientBoostingClassifier
    gbdt_learning_rate: float = _f(0.1, "fusion", "trees: learning rate (shrinkage)")
    gbdt_max_leaf_nodes: int = _f(31, "fusion", "trees: most leaves per tree")
    gbdt_min_samples_leaf: int = _f(20, "fusion", "trees: fewest samples per leaf")
    gbdt_l2: float = _f(0.0, "fusion", "trees: L2 regularisation of leaf values")
    stacked_inner_folds: int = _f(3, "fusion", "stacked: inner folds giving the trees out-of-fold image scores")
    embedding_dims: int = _f(8, "fusion", "gbdt_on_embedding: PCA components of the pooled image features")
    head_layers: int = _f(1, "head", "hidden layers between the fused vector and the output unit")
    head_units: int = _f(64, "head", "width of each head layer")
    head_dropout: float = _f(0.0, "head", "dropout before the output unit")
    # training
    batch_size: int = _f(32, "train", "mini-batch size")
    epochs: int = _f(20, "train", "most epochs per fold (early stopping may end sooner)")
    patience: int = _f(4, "train", "early stopping patience on the early-stopping slice; 0 = off")
    lr_backbone: float = _f(1e-5, "image", "learning rate of the fine-tuned backbone blocks")
    lr_image: float = _f(1e-3, "image", "learning rate of the image branch head")
    lr_numeric: float = _f(1e-3, "numeric", "learning rate of the numeric branch")
    lr_fusion: float = _f(1e-3, "train", "learning rate of the fusion layer and head")
    weight_decay: float = _f(0.0, "train", "AdamW weight decay")
    class_weight: str = _f("none", "train", "none | balanced (weight each class by n / (2 * its count))")

    @property
    def decode_size(self) -> int:
        """The size this design's images are decoded at: descriptor_size for the descriptors, else image_size."""
        return self.descriptor_size if self.backbone == DESCRIPTORS else self.image_size

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> "Design":
        unknown = sorted(set(params) - set(design_fields()))
        if unknown:
            raise UserError(f"unknown design parameter(s): {', '.join(unknown)}")
        return replace(cls(), **params)

    def to_params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def matters_with_backbone(name: str, backbone: str | None) -> bool:
    """Whether a field matters beside this backbone: the descriptors have no network on pixels to size, train or
    augment, and a network never reads descriptor_size (None: backbone not known yet, so it may matter)."""
    if backbone is None:
        return True
    if name in PIXEL_NETWORK_FIELDS:
        return backbone != DESCRIPTORS
    return name != "descriptor_size" or backbone == DESCRIPTORS


def design_fields() -> dict[str, Any]:
    """Field name -> dataclasses.Field, in declaration order."""
    return {f.name: f for f in fields(Design)}


def field_group(name: str) -> str:
    return design_fields()[name].metadata["group"]
