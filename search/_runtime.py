"""Backend facts and settings: the only module that may touch backend-specific APIs."""

from __future__ import annotations

import logging
import os
import warnings

import optuna

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")



def _import_quietly() -> None:
    """TensorFlow's C++ logger writes start-up chatter to fd 2 before any setting can stop it."""
    if os.environ["KERAS_BACKEND"] != "tensorflow" or os.environ.get("FUSION_SEARCH_TF_LOGS"):
        return
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import tensorflow  # noqa: F401
            except ImportError:
                pass
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_import_quietly()
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices are not the user's business
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

import keras  # noqa: E402


def backend_name() -> str:
    return keras.backend.backend()


def device_name() -> str:
    """'GPU' or 'CPU' (the kind of device trials train on)."""
    backend = backend_name()
    if backend == "tensorflow":
        import tensorflow as tf

        return "GPU" if tf.config.list_physical_devices("GPU") else "CPU"
    if backend == "jax":
        import jax

        return "GPU" if jax.devices()[0].platform == "gpu" else "CPU"
    if backend == "torch":
        import torch

        return "GPU" if torch.cuda.is_available() else "CPU"
    return "CPU"


_deterministic = False


def make_deterministic() -> None:
    """Same seed, same numbers: TensorFlow needs op determinism switched on (JAX is deterministic on CPU)."""
    global _deterministic
    if backend_name() == "tensorflow" and not _deterministic:
        _deterministic = True
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
