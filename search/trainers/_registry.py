"""Trainers by name. A design kind names its trainer (``DesignKind.trainer``); the trainer's module is
imported when a design of that kind first needs it, so a study of tree designs never loads Keras.

A trainer has ``fold_data(data, design) -> FoldData`` and ``train_fold(design, fold_data, train_idx,
val_idx, seed, on_epoch) -> FoldResult``; the neural trainer also answers ``too_large(data, design)``.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import Any

from fusion_search._errors import UserError
from fusion_search.data import SearchData
from fusion_search.designs import NEURAL, Design, get_kind
from fusion_search.trainers._fold import FoldData, FoldResult

_TRAINERS: dict[str, Any] = {  # name -> trainer, or "module:Class" until first use
    NEURAL: "fusion_search.trainers._neural:NeuralTrainer",
    "gbdt_only": "fusion_search.trainers._gbdt_only:GbdtOnly",
    "stacked": "fusion_search.trainers._stacked:Stacked",
    "gbdt_on_embedding": "fusion_search.trainers._embedding:GbdtOnEmbedding",
}


def register_trainer(name: str, trainer: Any) -> None:
    _TRAINERS[name] = trainer


def unregister_trainer(name: str) -> None:
    _TRAINERS.pop(name, None)


def get_trainer(name: str) -> Any:
    if name not in _TRAINERS:
        raise UserError(f"no trainer named '{name}'; known: {', '.join(sorted(_TRAINERS))}")
    if isinstance(_TRAINERS[name], str):
        module, cls = _TRAINERS[name].split(":")
        _TRAINERS[name] = getattr(importlib.import_module(module), cls)()
    return _TRAINERS[name]


def trainer_entries() -> dict[str, Any]:
    """Every registered trainer as registered (an import path until first use)."""
    return dict(_TRAINERS)


def fold_data(data: SearchData, design: Design) -> FoldData:
    """The arrays this design's trainer reads (images, cached backbone features, numbers, labels)."""
    return get_trainer(get_kind(design.fusion).trainer).fold_data(data, design)


def train_fold(design: Design, data: FoldData, train_idx, val_idx, seed: int, on_epoch=None) -> FoldResult:
    """Fit the design on train_idx and score the whole of val_idx."""
    return get_trainer(get_kind(design.fusion).trainer).train_fold(design, data, train_idx, val_idx, seed, on_epoch)


def too_large(data: SearchData, design: Design) -> str | None:
    """Why the Keras network this design trains cannot fit this worker's device memory at its batch size
    (None: it fits, or the design trains no network)."""
    network = get_kind(design.fusion).network_kind()
    if network is None:
        return None
    return get_trainer(NEURAL).too_large(data, replace(design, fusion=network.name))
