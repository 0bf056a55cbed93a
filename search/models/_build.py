"""Design -> Keras model: image branch, numeric branch, fusion, head, one sigmoid unit.

The model starts where its training rows are (``TrainingRowStats``): the output unit's bias at their log-odds, so
the first steps need not move every score toward the class prior, and a from-scratch backbone's pixels
standardised with their per-channel statistics (Karpathy, "A recipe for training neural networks", 2019: "init
well"; the usual input standardisation). Without the first, a small network learned the prior fastest by scoring
bright images low, and early stopping kept that inverted model (AUC 0.28 where a logistic regression on the pixels
scored 0.74).

Layer names carry their group (``block*`` backbone, ``image_*``, ``numeric_*``, the rest
fusion/head) so that each group gets its own learning rate through MultiOptimizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
from keras import layers

from fusion_search.designs import Design
from fusion_search.models._augment import augment
from fusion_search.models._backbones import build_backbone
from fusion_search.models._categories import with_categories
from fusion_search.models._standardize import Standardize
from fusion_search.models.fusion import get_fusion, output_logit

NORMS = {"none": None, "batch": layers.BatchNormalization, "layer": layers.LayerNormalization}

LEARNING_RATE_GROUPS = {"lr_backbone": "block.*", "lr_image": "image_.*", "lr_numeric": "numeric_.*"}


@dataclass(frozen=True)
class TrainingRowStats:
    """What a fold's training rows set before training starts. The defaults are a model built without them."""

    log_odds: float = 0.0  # log(p / (1 - p)), p the (class-weighted) share of positive training rows
    pixel_mean: tuple[float, float, float] | None = None  # per channel, 0..255 scale (from-scratch backbones)
    pixel_std: tuple[float, float, float] | None = None
    class_log_priors: tuple[float, ...] | None = None  # K >= 3 classes: log of each (class-weighted) share
    feature_mean: tuple[float, ...] | None = None  # per descriptor (image_only on descriptors and every design
    feature_std: tuple[float, ...] | None = None  # that reads them)

    @property
    def output_bias(self) -> float | tuple[float, ...]:
        """Where the output logit starts: the log-odds (two classes), or the K log-priors."""
        return self.class_log_priors if self.class_log_priors is not None else self.log_odds

    @property
    def n_classes(self) -> int:
        return len(self.class_log_priors) if self.class_log_priors is not None else 2

    @property
    def pixel_stats(self) -> tuple | None:
        return None if self.pixel_mean is None else (self.pixel_mean, self.pixel_std)

    @property
    def feature_stats(self) -> tuple | None:
        return None if self.feature_mean is None else (self.feature_mean, self.feature_std)


def build_model(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None = None,
                category_sizes: tuple[int, ...] = (), stats: TrainingRowStats = TrainingRowStats()) -> keras.Model:
    """The fused classifier of one design. Inputs are named ``image`` (uint8), ``numeric`` (float32, standardised)
    and ``categorical`` (int32 codes, one column per categorical column, category_sizes[j] codes each).

    With ``feature_shape`` the frozen backbone's output is an input (``image_features``, from the
    feature cache) and the model holds only what trains: heads, fusion, numeric branch. ``stats``: every output
    unit's bias starts at the training rows' log-odds, a from-scratch backbone sees their standardised pixels."""
    fusion = get_fusion(design.fusion)(design, output_bias=stats.output_bias)
    kind = fusion.kind
    inputs: dict[str, keras.KerasTensor] = {}
    v = t = None
    if kind.uses_image and feature_shape is not None:
        inputs["image_features"] = keras.Input(feature_shape, dtype="float32", name="image_features")
    elif kind.uses_image:
        inputs["image"] = keras.Input((design.image_size, design.image_size, 3), dtype="uint8", name="image")
    if kind.uses_numeric:
        if n_numeric or not category_sizes:
            inputs["numeric"] = keras.Input((n_numeric,), dtype="float32", name="numeric")
        if category_sizes:
            inputs["categorical"] = keras.Input((len(category_sizes),), dtype="int32", name="categorical")
        features = with_categories(inputs.get("numeric"), inputs.get("categorical"), tuple(category_sizes),
                                   design.categorical_encoding)
        t = numeric_branch(features, design)
    if kind.uses_image:  # after the numeric branch: a fusion may condition the feature map on t (FiLM/DAFT)
        pixels_or_features = inputs.get("image", inputs.get("image_features"))
        v = image_branch(pixels_or_features, design, lambda feature_map: fusion.on_feature_map(feature_map, t),
                         from_features=feature_shape is not None, pixel_stats=stats.pixel_stats,
                         feature_stats=stats.feature_stats)
    fused = fusion.fuse(v, t)
    logit = fused if kind.outputs_logit else head(fused, design, stats.output_bias)
    link = "sigmoid" if stats.n_classes == 2 else "softmax"  # K classes: a distribution over them
    score = layers.Activation(link, dtype="float32", name="score")(logit)
    auxiliary = {name: layers.Activation(link, dtype="float32", name=name)(aux_logit)
                 for name, aux_logit in fusion.auxiliary_logits().items()}
    return keras.Model(inputs, {"score": score, **auxiliary} if auxiliary else score, name=f"fusion_{design.fusion}")


def image_branch(images, design: Design, on_feature_map=None, from_features: bool = False,
                 pixel_stats: tuple | None = None, feature_stats: tuple | None = None):
    """feature_stats: (mean, std) of each descriptor over the training rows; unstandardised, the descriptors' small
    spreads (an edge share varies by 0.01) slowed a network's first try: on 700 rows of 7 classes image_only
    scored 0.838 macro AUC after the quick space's budget, 0.891 standardised, and a logistic regression on
    the standardised descriptors 0.897."""
    features = images if from_features else backbone_features(images, design, pixel_stats)
    _reseed_after_backbone()
    if len(features.shape) == 2:  # a vector per image (the descriptors): no map to condition or pool
        width = features.shape[-1]
        pooled = Standardize(*(feature_stats or ((0.0,) * width, (1.0,) * width)), name="image_standardize")(features)
    else:
        if on_feature_map is not None:
            features = on_feature_map(features)
        pooled = layers.GlobalAveragePooling2D(name="image_pool")(features)
    return _output_block(pooled, "image", design.image_units, design.image_activation, design.image_norm,
                         design.image_dropout)


def _reseed_after_backbone() -> None:
    """Building a backbone draws from Keras's seed generator even when file weights replace the draws.
    Re-seeding here (from numpy's stream, which backbones do not touch) gives every layer after it the
    same initial weights whether the backbone was built or its cached features came in instead."""
    keras.utils.set_random_seed(int(np.random.randint(2**31 - 1)))


def backbone_features(images, design: Design, pixel_stats: tuple | None = None):
    """Augmentation (training only) + preprocess + backbone: the image feature map (what the feature cache stores
    for frozen backbones without augmentation)."""
    preprocess, backbone = build_backbone(design.backbone, design.image_size, design.weights, design.trainable_blocks,
                                          pixel_stats)
    pixels = augment(images, design.augmentation)
    # A frozen backbone runs in inference mode (matters for backbones with BatchNorm).
    return backbone(preprocess(pixels), training=False if design.trainable_blocks == 0 else None)


def feature_extractor(design: Design, pixel_stats: tuple | None = None) -> keras.Model:
    """uint8 images -> backbone feature maps, for filling the feature cache (pixel_stats: as build_backbone's)."""
    images = keras.Input((design.image_size, design.image_size, 3), dtype="uint8", name="image")
    return keras.Model(images, backbone_features(images, design, pixel_stats), name="feature_extractor")


def numeric_branch(numbers, design: Design):
    x = numbers
    for index in range(design.numeric_layers):
        x = layers.Dense(design.numeric_width, activation="relu", name=f"numeric_hidden{index}")(x)
    return _output_block(x, "numeric", design.numeric_units, design.numeric_activation, design.numeric_norm,
                         design.numeric_dropout)


def head(fused, design: Design, output_bias: float | tuple[float, ...] = 0.0):
    x = fused
    for index in range(design.head_layers):
        x = layers.Dense(design.head_units, activation="relu", name=f"head_hidden{index}")(x)
    if design.head_dropout:
        x = layers.Dropout(design.head_dropout, name="head_dropout")(x)
    return output_logit(x, "head_logit", output_bias)



def _output_block(x, prefix: str, units: int, activation: str, norm: str, dropout: float):
    """Dense -> optional norm -> activation -> optional dropout (the answer's 'BatchNorm before relu')."""
    x = layers.Dense(units, name=f"{prefix}_output")(x)
    if NORMS[norm] is not None:
        x = NORMS[norm](name=f"{prefix}_norm")(x)
    x = layers.Activation(activation, name=f"{prefix}_activation")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{prefix}_dropout")(x)
    return x


def make_optimizer(design: Design, model: keras.Model | None = None) -> keras.optimizers.Optimizer:
    """AdamW per layer group: backbone, image head, numeric branch, and fusion+head (the default). The backbone's
    variables are named exactly (from the model's nested ``backbone``), since keras.applications models name their
    layers in many ways; without a model, layers named blockN_* are the backbone's."""

    def adamw(rate: float) -> keras.optimizers.Optimizer:
        return keras.optimizers.AdamW(learning_rate=rate, weight_decay=design.weight_decay)

    mapping = keras.optimizers.OptimizerMap(default_optimizer=adamw(design.lr_fusion))
    optimizers = {field_name: adamw(getattr(design, field_name)) for field_name in LEARNING_RATE_GROUPS}
    for field_name, pattern in LEARNING_RATE_GROUPS.items():
        mapping[pattern] = optimizers[field_name]
    backbone = next((layer for layer in (model.layers if model is not None else []) if layer.name == "backbone"), None)
    for variable in backbone.trainable_variables if backbone is not None else []:
        mapping[variable.path] = optimizers["lr_backbone"]
    return keras.optimizers.MultiOptimizer(mapping)


def loss_spec(model: keras.Model, design: Design) -> dict:
    """compile() loss arguments: cross-entropy on the score (binary for one output unit, sparse categorical for
    K), plus weighted auxiliary branch outputs if any."""
    score = model.output["score"] if isinstance(model.output, dict) else model.output
    loss = "binary_crossentropy" if score.shape[-1] == 1 else "sparse_categorical_crossentropy"
    if not isinstance(model.output, dict):
        return {"loss": loss}
    weight = get_fusion(design.fusion)(design).auxiliary_weight
    return {"loss": {name: loss for name in model.output},
            "loss_weights": {name: 1.0 if name == "score" else weight for name in model.output}}


def output_names(model: keras.Model) -> list[str] | None:
    """The outputs RowBatches gives the labels to: every output of a multi-output model (auxiliary branch outputs
    predict the same label), None for a model of one output."""
    return list(model.output) if isinstance(model.output, dict) else None


def model_inputs(model: keras.Model, images, numeric, image_features=None, categorical=None) -> dict:
    """The input dict for the inputs this model actually has."""
    given = {"image": images, "numeric": numeric, "image_features": image_features, "categorical": categorical}
    return {tensor.name: given[tensor.name] for tensor in model.inputs}


SCORING_BATCH = 256  # rows scored per step


def predict_scores(model: keras.Model, inputs, batch_size: int = SCORING_BATCH) -> np.ndarray:
    """Positive-class probabilities, one per row, or (rows, K) class probabilities (auxiliary branch outputs
    dropped). inputs: a dict of arrays, or a PyDataset of input batches (RowBatches), which brings its own batch
    size."""
    if isinstance(inputs, dict):
        scores = model.predict(inputs, batch_size=batch_size, verbose=0)
    else:
        scores = model.predict(inputs, verbose=0)
    if isinstance(scores, dict):  # auxiliary branch outputs were only there for training
        scores = scores["score"]
    scores = np.asarray(scores, dtype=np.float64)
    return scores.reshape(-1) if scores.shape[-1] == 1 else scores
