"""Every registered backbone, on TensorFlow and on JAX: its blocks, a local weights file, and one training step
with the top block fine-tuned at lr_backbone (and nothing else of the backbone); image augmentation only in
training. The JAX checks run in one subprocess (KERAS_BACKEND is fixed per process)."""

from __future__ import annotations


import keras
import numpy as np
import pytest

from fusion_search.designs import Design
from fusion_search.models import build_model, predict_scores, registered_backbones
from tests.models.backbone_checks import check_backbone
from tests.models.on_jax import run_on_jax

# trainable_blocks counts these: VGG16's block1-5, ResNet50's conv1-5, EfficientNetB0's stem+block1-7 (the stem
# with the input scaling) and top, MobileNetV3Small's stem conv, 11 expanded_conv blocks and last conv, ConvNeXtTiny's
# stem, 4 stages and the 3 downsampling layers between them
BLOCKS = {"vgg16": 5, "resnet50": 5, "efficientnetb0": 9, "mobilenetv3small": 13, "convnexttiny": 8,
          "small_cnn": 3, "small_cnn_deep": 5}


@pytest.fixture(scope="module")
def tensorflow_checks(tmp_path_factory):
    folder, done = tmp_path_factory.mktemp("tensorflow-backbones"), {}

    def result(name: str) -> dict:
        if name not in done:
            done[name] = check_backbone(name, folder)
        return done[name]

    return result


@pytest.fixture(scope="module")
def jax_checks(tmp_path_factory):
    checks = run_on_jax("tests.models.backbone_checks", tmp_path_factory.mktemp("jax-backbones"))
    assert checks["backend"] == "jax"
    return checks["results"].__getitem__


@pytest.fixture(params=["tensorflow", "jax"])
def checked(request):
    return request.getfixturevalue(f"{request.param}_checks")


def test_the_registry_holds_the_backbones_a_space_may_name():
    assert sorted(registered_backbones()) == sorted(BLOCKS)


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_backbone_has_its_blocks_and_loads_a_local_weights_file(checked, name):
    result = checked(name)
    assert result["blocks"] == BLOCKS[name]
    assert result["file_weights_equal"], "weights from the file differ from the weights saved"
    assert not result["fresh_weights_equal"], "a second random build equalled the saved weights: the file proves nothing"


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_one_step_fine_tunes_only_the_top_block(checked, name):
    step = checked(name)["step"]
    assert step["loss_finite"] and step["head_moved"]
    assert step["top_block_trainable"] and step["top_block_moved"]
    assert step["bottom_block_trainable_variables"] == 0 and not step["bottom_block_moved"]


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_the_backbone_learns_at_lr_backbone_and_not_at_another_rate(checked, name):
    still = checked(name)["step_lr_zero"]
    assert still["head_moved"], "the image head has its own rate"
    assert not still["top_block_moved"], "a backbone variable was trained at a rate other than lr_backbone=0"


def _augmenting_model(augmentation: str) -> keras.Model:
    keras.utils.set_random_seed(0)
    design = Design(fusion="image_only", backbone="small_cnn", weights="none", image_size=16, trainable_blocks=3,
                    image_units=8, image_activation="tanh", augmentation=augmentation)
    return build_model(design, 0)


def _images() -> dict:
    rng = np.random.default_rng(0)
    return {"image": rng.integers(0, 256, (16, 16, 16, 3)).astype("uint8")}


@pytest.mark.parametrize("augmentation", ["flip", "flip_rotate_color"])
def test_augmentation_changes_images_in_training_only(augmentation):
    model, images = _augmenting_model(augmentation), _images()
    first, second = predict_scores(model, images), predict_scores(model, images)
    assert np.array_equal(first, second), "prediction must see the images as they are"
    plain = np.asarray(model(images, training=False)).ravel()
    trained = [np.asarray(model(images, training=True)).ravel() for _ in range(2)]
    assert np.allclose(first, plain, atol=1e-6)
    assert not np.allclose(trained[0], plain, atol=1e-6), "training saw the images unaugmented"
    assert not np.allclose(trained[0], trained[1], atol=1e-6), "two training passes drew the same augmentation"


def test_no_augmentation_leaves_training_and_prediction_alike():
    model, images = _augmenting_model("none"), _images()
    assert np.allclose(np.asarray(model(images, training=True)), np.asarray(model(images, training=False)))
