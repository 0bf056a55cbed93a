"""Device memory: what one training step of a design needs, what this worker may use, the largest batch that fits.

A trial whose batch cannot fit is never started (it is pruned at once, with the reason), so a search
over batch sizes does not crash workers or waste their time; a real out-of-memory error during training
is caught the same way, in case the estimate was short.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fusion_search._errors import UserError
from fusion_search.data import SearchData
from fusion_search.designs import Design
from fusion_search.models import (TrainingRowStats, build_model, configure_precision, device_name, gpu_memory,
                                   keras)
from fusion_search.trainers._features import image_features
from fusion_search.trainers._fold import is_out_of_memory

HEADROOM = 0.9  # share of the budget a step may plan for: the framework's own buffers, fragmentation
# Frameworks hold more than the activations counted here (gradient buffers, convolution workspaces,
# im2col on a CPU): the peak memory per row of VGG16 training steps measured on this project's CPU
# backends was up to 3.7x (JAX, all blocks fine-tuned) the counted bytes (bench/results/memory.md).
# 5 keeps the estimate above every measurement there.
ACTIVATION_FACTOR = 5.0
ADAMW_SLOTS = 2  # first and second moments, float32, per trainable weight
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "kib": 2**10, "m": 2**20, "mb": 2**20, "mib": 2**20,
          "g": 2**30, "gb": 2**30, "gib": 2**30, "t": 2**40, "tb": 2**40, "tib": 2**40}


@dataclass(frozen=True)
class StepMemory:
    """Bytes one training step needs: fixed (weights, gradients, optimizer slots) + per_sample x batch."""

    fixed: int
    per_sample: int

    def at(self, batch_size: int) -> int:
        return self.fixed + self.per_sample * batch_size

    def largest_batch(self, budget: int) -> int:
        """The largest batch size whose step fits HEADROOM of budget (0: not even one row fits)."""
        return max(0, int((budget * HEADROOM - self.fixed) // self.per_sample))


@dataclass(frozen=True)
class Budget:
    """Device memory one worker may use, and where that number came from."""

    bytes: int
    source: str


def step_memory(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None = None,
                category_sizes: tuple[int, ...] = (), n_classes: int = 2) -> StepMemory:
    """Estimate the memory of one training step of the design's Keras model (under the current precision policy),
    with its K output units for n_classes > 2."""
    configure_precision()
    return _step_memory(replace(design, batch_size=1, weights="none"), n_numeric, feature_shape, category_sizes,
                        n_classes)


@functools.lru_cache(maxsize=32)
def _step_memory(design: Design, n_numeric: int, feature_shape: tuple[int, ...] | None,
                 category_sizes: tuple[int, ...], n_classes: int = 2) -> StepMemory:
    state = np.random.get_state()  # estimating must not move the training seed's streams
    stats = TrainingRowStats(class_log_priors=(0.0,) * n_classes) if n_classes > 2 else TrainingRowStats()
    model = build_model(design, n_numeric, feature_shape, category_sizes, stats)
    np.random.set_state(state)
    weights = sum(_bytes(v.shape, v.dtype) for v in model.weights)
    trainable = sum(_bytes(v.shape, v.dtype) for v in model.trainable_weights)
    # + gradients and AdamW slots, + one working copy of every weight (cast to the compute dtype, or
    # re-laid out for the convolution kernels: XLA keeps such copies even of frozen weights)
    fixed = 2 * weights + trainable * (1 + ADAMW_SLOTS)
    inputs = sum(_bytes(t.shape[1:], t.dtype) for t in model.inputs)
    frozen_peak, kept = _activations(model)
    return StepMemory(fixed, int(2 * inputs + ACTIVATION_FACTOR * (frozen_peak + kept)))


def _activations(model: keras.Model) -> tuple[int, int]:
    """Bytes per sample: (the forward peak of the layers no gradient passes through, each holding its inputs
    and outputs at once; the layer inputs the backward pass keeps, those of every layer with trainable
    weights or with one upstream of it)."""
    return _walk(model, {id(tensor): False for tensor in model.inputs})


def _walk(model: keras.Model, on_gradient_path: dict[int, bool]) -> tuple[int, int]:
    """_activations over one functional graph (nested models, such as a backbone, walked in place);
    on_gradient_path maps a tensor's id to whether the backward pass goes through it."""
    frozen_peak = kept = 0
    for layer in model._operations:  # topological order
        if isinstance(layer, keras.layers.InputLayer):
            continue
        for node in layer._inbound_nodes:
            if not all(id(t) in on_gradient_path for t in node.input_tensors):
                continue  # a call of this layer in some other graph
            upstream = any(on_gradient_path[id(t)] for t in node.input_tensors)
            if isinstance(layer, keras.Model):
                inner = {id(i): on_gradient_path[id(o)] for i, o in zip(layer.inputs, node.input_tensors)}
                peak, inner_kept = _walk(layer, inner)
                frozen_peak, kept = max(frozen_peak, peak), kept + inner_kept
                results = [inner[id(t)] for t in layer.outputs]
            else:
                needs = upstream or bool(layer.trainable_weights)
                held = sum(_bytes(t.shape[1:], t.dtype) for t in node.input_tensors)
                if needs:
                    kept += held
                else:
                    frozen_peak = max(frozen_peak, held + sum(_bytes(t.shape[1:], t.dtype) for t in node.output_tensors))
                results = [needs] * len(node.output_tensors)
            on_gradient_path.update({id(t): r for t, r in zip(node.output_tensors, results)})
    return frozen_peak, kept


def _bytes(shape, dtype) -> int:
    itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize  # numpy has no bfloat16 of its own
    return int(np.prod([d for d in shape if d is not None], dtype=np.int64)) * itemsize


def parse_size(text: str) -> int:
    """'24GiB', '512 MiB', '8g', '1073741824' -> bytes."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise UserError(f"FUSION_SEARCH_DEVICE_MEMORY must be a size such as 20GiB or 512MiB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def memory_budget() -> Budget | None:
    """The memory this worker may plan a training step for: FUSION_SEARCH_DEVICE_MEMORY when set, else the
    GPU's memory (or the machine's, on a CPU) divided among the workers that share the device
    (FUSION_SEARCH_WORKERS_PER_DEVICE, which `launch` sets). None when the device's size is unknown."""
    if os.environ.get("FUSION_SEARCH_DEVICE_MEMORY"):
        return Budget(parse_size(os.environ["FUSION_SEARCH_DEVICE_MEMORY"]), "FUSION_SEARCH_DEVICE_MEMORY")
    total = gpu_memory() if device_name() == "GPU" else _host_memory()
    if total is None:
        return None
    sharing = max(1, int(os.environ.get("FUSION_SEARCH_WORKERS_PER_DEVICE", "1") or 1))
    where = f"{device_name()} memory" + (f" / {sharing} workers" if sharing > 1 else "")
    return Budget(total // sharing, where)


@functools.lru_cache(maxsize=1)
def _host_memory() -> int:
    """Physical memory, or the container's limit when that is lower (cgroup v2, then v1)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return total


def feature_shape_of(data: SearchData, network: Design) -> tuple[int, ...] | None:
    """The shape of one row's image features (descriptors, cached maps) when the network reads them, else None."""
    features = image_features(data, network)
    return None if features is None else features.shape[1:]


def too_large(network: Design, n_numeric: int, feature_shape: tuple[int, ...] | None = None,
              category_sizes: tuple[int, ...] = (), n_classes: int = 2) -> str | None:
    """Why a training step of this Keras design at its batch size cannot fit this worker's memory,
    or None when it fits (or when the device's size is unknown)."""
    budget = memory_budget()
    if budget is None:
        return None
    try:
        need = step_memory(network, n_numeric, feature_shape, category_sizes, n_classes)
    except Exception as error:
        if not is_out_of_memory(error):
            raise
        return f"building the model ran out of memory ({type(error).__name__}): its weights alone do not fit"
    if need.at(network.batch_size) <= budget.bytes * HEADROOM:
        return None
    largest = need.largest_batch(budget.bytes)
    return (f"batch_size {network.batch_size} needs about {_gib(need.at(network.batch_size))} for one training "
            f"step, more than {HEADROOM:.0%} of {_gib(budget.bytes)} ({budget.source}); "
            + (f"the largest batch that fits is {largest}" if largest else "not even batch_size 1 fits"))


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**28 else f"{n / 2**20:.1f} MiB"
