"""Design -> Keras model: image branch, numeric branch, fusion, head, one sigmoid unit.

Layer names carry their group (``block*`` backbone, ``image_*``, ``numeric_*``, the rest
fusion/head) so that each group gets its own learning rate through MultiOptimizer.
"""

from __future__ import annotations

import keras
from keras import layers

from search._backbones import build_backbone
from search._design import Design
from search.fusion import get_fusion

NORMS = {"none": None, "batch": layers.BatchNormalization, "layer": layers.LayerNormalization}

LEARNING_RATE_GROUPS = {"lr_backbone": "block.*", "lr_image": "image_.*", "lr_numeric": "numeric_.*"}


def build_model(design: Design, n_numeric: int) -> keras.Model:
    """The fused classifier of one design. Inputs are named ``image`` (uint8) and ``numeric``."""
    fusion = get_fusion(design.fusion)(design)
    inputs: dict[str, keras.KerasTensor] = {}
    v = t = None
    if fusion.uses_image:
        inputs["image"] = keras.Input((design.image_size, design.image_size, 3), dtype="uint8", name="image")
    if fusion.uses_numeric:
        inputs["numeric"] = keras.Input((n_numeric,), dtype="float32", name="numeric")
        t = numeric_branch(inputs["numeric"], design)
    if fusion.uses_image:  # after the numeric branch: a fusion may condition the feature map on t (FiLM/DAFT)
        v = image_branch(inputs["image"], design, on_feature_map=lambda feature_map: fusion.on_feature_map(feature_map, t))
    fused = fusion.fuse(v, t)
    logit = fused if fusion.outputs_logit else head(fused, design)
    score = layers.Activation("sigmoid", dtype="float32", name="score")(logit)
    auxiliary = {name: layers.Activation("sigmoid", dtype="float32", name=name)(aux_logit)
                 for name, aux_logit in fusion.auxiliary_logits().items()}
    return keras.Model(inputs, {"score": score, **auxiliary} if auxiliary else score, name=f"fusion_{design.fusion}")


def image_branch(images, design: Design, on_feature_map=None):
    preprocess, backbone = build_backbone(design.backbone, design.image_size, design.weights, design.trainable_blocks)
    # A frozen backbone runs in inference mode (matters for backbones with BatchNorm).
    features = backbone(preprocess(images), training=False if design.trainable_blocks == 0 else None)
    if on_feature_map is not None:
        features = on_feature_map(features)
    pooled = layers.GlobalAveragePooling2D(name="image_pool")(features)
    return _output_block(pooled, "image", design.image_units, design.image_activation, design.image_norm,
                         design.image_dropout)


def numeric_branch(numbers, design: Design):
    x = numbers
    for index in range(design.numeric_layers):
        x = layers.Dense(design.numeric_width, activation="relu", name=f"numeric_hidden{index}")(x)
    return _output_block(x, "numeric", design.numeric_units, design.numeric_activation, design.numeric_norm,
                         design.numeric_dropout)


def head(fused, design: Design):
    x = fused
    for index in range(design.head_layers):
        x = layers.Dense(design.head_units, activation="relu", name=f"head_hidden{index}")(x)
    if design.head_dropout:
        x = layers.Dropout(design.head_dropout, name="head_dropout")(x)
    return layers.Dense(1, name="head_logit")(x)


def _output_block(x, prefix: str, units: int, activation: str, norm: str, dropout: float):
    """Dense -> optional norm -> activation -> optional dropout (the answer's 'BatchNorm before relu')."""
    x = layers.Dense(units, name=f"{prefix}_output")(x)
    if NORMS[norm] is not None:
        x = NORMS[norm](name=f"{prefix}_norm")(x)
    x = layers.Activation(activation, name=f"{prefix}_activation")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
    return x


def make_optimizer(design: Design) -> keras.optimizers.Optimizer:
    """AdamW per layer group: backbone, image head, numeric branch, and fusion+head (the default)."""

    def adamw(rate: float) -> keras.optimizers.Optimizer:
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=design.weight_decay)

    mapping = keras.optimizers.OptimizerMap(default_optimizer=adamw(design.lr_fusion))
    for field_name, pattern in LEARNING_RATE_GROUPS.items():
        mapping[pattern] = adamw(getattr(design, field_name))
    return keras.optimizers.MultiOptimizer(mapping)


def loss_spec(model: keras.Model, design: Design) -> dict:
    """compile() loss arguments: binary cross-entropy on the score, plus weighted auxiliary branch outputs if any."""
    if not isinstance(model.output, dict):
        return {"loss": "binary_crossentropy"}
    weight = get_fusion(design.fusion)(design).auxiliary_weight
    return {"loss": {name: "binary_crossentropy" for name in model.output},
            "loss_weights": {name: 1.0 if name == "score" else weight for name in model.output}}


def training_targets(model: keras.Model, labels):
    """y for fit(): the labels, once per output (auxiliary branch outputs predict the same label)."""
    return {name: labels for name in model.output} if isinstance(model.output, dict) else labels
