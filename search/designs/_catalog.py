"""The shipped designs and backbones. Formulas and sources: the neural fusions' classes in
``fusion_search.models.fusion``, the tree and stacking trainers in ``fusion_search.trainers``."""

from fusion_search.designs._design import DESCRIPTORS
from fusion_search.designs._kinds import DesignKind, register_design

TREE_FIELDS = ("gbdt_learning_rate", "gbdt_max_leaf_nodes", "gbdt_min_samples_leaf", "gbdt_l2")
# networks built by fusion_search.models; their names are here so that spaces validate without Keras
BACKBONES = ("convnexttiny", "efficientnetb0", "mobilenetv3small", "resnet50", "small_cnn", "small_cnn_deep", "vgg16")
AUGMENTATIONS = ("none", "flip", "flip_rotate_color")  # built by fusion_search.models._augment

DESIGNS = (
    DesignKind("image_only", "baseline: the image branch alone", uses_numeric=False),
    DesignKind("numeric_only", "baseline: the numeric branch alone", uses_image=False),
    DesignKind("gbdt_only", "baseline: gradient-boosted trees on the numeric columns", uses_image=False,
               trainer="gbdt_only", network=None, reads=TREE_FIELDS, optional=TREE_FIELDS),
    DesignKind("concat", "[v; t] -> head"),
    DesignKind("add", "both projected to width d and added", reads=("fusion_units",)),
    DesignKind("multiply", "both projected to width d, each with its own activation, multiplied",
               reads=("fusion_units", "multiply_image_activation", "multiply_numeric_activation")),
    DesignKind("gated", "Gated Multimodal Unit", reads=("fusion_units",)),
    DesignKind("film", "FiLM: t scales and shifts v, or the backbone's feature map (DAFT)",
               reads=("film_target",), optional=("film_target",)),
    DesignKind("bilinear", "low-rank bilinear pooling", reads=("fusion_units", "bilinear_rank")),
    DesignKind("attention", "multi-head attention over branch tokens",
               reads=("fusion_units", "attention_heads", "attention_tokens"), optional=("attention_tokens",)),
    DesignKind("late", "p = sigmoid(a s_img + (1 - a) s_num), a learned", outputs_logit=True,
               reads=("late_aux_weight",), optional=("late_aux_weight",)),
    DesignKind("stacked", "trees on [numeric columns; cross-fitted image score]", trainer="stacked",
               network="image_only", reads=(*TREE_FIELDS, "stacked_inner_folds"),
               optional=(*TREE_FIELDS, "stacked_inner_folds")),
    DesignKind("gbdt_on_embedding", "trees on [numeric columns; PCA of pooled backbone features]",
               trainer="gbdt_on_embedding", network=None, reads=(*TREE_FIELDS, "embedding_dims"),
               optional=(*TREE_FIELDS, "embedding_dims")),
)

for _kind in DESIGNS:
    register_design(_kind)


def list_backbones() -> list[str]:
    """Every backbone a space may name: the networks and the descriptors."""
    return sorted((*BACKBONES, DESCRIPTORS))
