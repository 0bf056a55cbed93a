"""Backend facts and settings: the only module that may touch backend-specific APIs, and the first to
import Keras (``fusion_search.models`` imports it before anything else, so TensorFlow loads quietly). The
environment defaults it relies on (backend, log level) were set by ``import fusion_search``."""

from __future__ import annotations

import functools
import logging
import os
import subprocess


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


def _grow_gpu_memory() -> None:
    """TensorFlow maps nearly all of a GPU's memory at start unless told to grow as needed."""
    if os.environ["KERAS_BACKEND"] != "tensorflow":
        return
    try:
        import tensorflow as tf

        for gpu in tf.config.list_physical_devices("GPU"):
            tf.config.experimental.set_memory_growth(gpu, True)
    except (ImportError, RuntimeError):  # no TensorFlow, or its GPUs were already initialised
        pass


_grow_gpu_memory()
logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices are not the user's business

import keras  # noqa: E402


def backend_name() -> str:
    return keras.backend.backend()


@functools.lru_cache(maxsize=1)
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


def use_jit() -> bool:
    """XLA-compile training steps on a GPU, where it pays, and always on JAX (its eager path is the slow one);
    TensorFlow on a CPU loses more to compile time than it gains on small models."""
    return device_name() == "GPU" or backend_name() == "jax"


@functools.lru_cache(maxsize=1)
def configure_precision() -> str:
    """Mixed precision on a GPU: bfloat16 where the GPU supports it (compute capability 8+), float16
    (Keras adds loss scaling) before that; float32 on a CPU. FUSION_SEARCH_PRECISION overrides."""
    policy = os.environ.get("FUSION_SEARCH_PRECISION") or _gpu_policy()
    keras.mixed_precision.set_global_policy(policy)
    return policy


def _gpu_policy() -> str:
    if device_name() != "GPU":
        return "float32"
    return "mixed_bfloat16" if _gpu_major_capability() >= 8 else "mixed_float16"


def _gpu_major_capability() -> int:
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
            return int(details.get("compute_capability", (0, 0))[0])
        if backend == "jax":
            import jax

            return int(str(getattr(jax.devices()[0], "compute_capability", "0")).split(".")[0])
        if backend == "torch":
            import torch

            return torch.cuda.get_device_capability()[0]
    except Exception:  # an unknown device kind: the safe choice is float16 with loss scaling
        return 0
    return 0


@functools.lru_cache(maxsize=1)
def gpu_memory() -> int | None:
    """Bytes the first visible GPU offers this process's backend."""
    try:
        if backend_name() == "jax":
            import jax

            return int(jax.devices()[0].memory_stats()["bytes_limit"])
        if backend_name() == "torch":
            import torch

            return int(torch.cuda.get_device_properties(0).total_memory)
        gpu = (os.environ.get("CUDA_VISIBLE_DEVICES") or "0").split(",")[0]
        answer = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", gpu],
                                capture_output=True, text=True, timeout=20, check=True)
        return int(answer.stdout.split()[0]) * 2**20
    except Exception:  # no way to ask this GPU: the check is skipped, an OOM is still caught
        return None
