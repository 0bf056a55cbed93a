"""What a run settles before its study exists: the space ``auto`` stands for, and the checks that can fail (weights
this machine cannot get), so that a run that has to fail fails before anything is stored and the retry (with another
space, say) does not meet a half-made study that refuses it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import optuna

from fusion_search.data import SearchData
from fusion_search.designs import Design, get_kind
from fusion_search.spaces import Space, list_spaces, load_space
from fusion_search.storage import open_storage, resolve_storage_url

AUTO = "auto"
AUTO_SPACES = {"GPU": "default", "CPU": "balanced"}  # what `auto` means on a machine that trains on this device
IMAGENET = "imagenet"


def chosen_space(space: str | Path | Space, study: str | None = None, storage: str | None = None) -> Space:
    """The space to search: as given, or for ``auto`` the shipped space study ``study`` was made with, else the one
    for this machine's device (AUTO_SPACES). Says which ``auto`` chose, and why, on stderr."""
    if isinstance(space, Space):
        return space
    if str(space) != AUTO:
        return load_space(str(space))
    name = _stored_space(study, storage) if study else None
    if name in list_spaces():
        why = f"the space study '{study}' was made with"
    else:
        from fusion_search.models import device_name  # Keras loads only when a run needs to know the device

        device = device_name()
        name, why = AUTO_SPACES[device], f"this machine trains on a {device}"
    print(f"space auto: {name} ({why})", file=sys.stderr, flush=True)
    return load_space(name)


def _stored_space(study: str, storage: str | None) -> str | None:
    """The space name an existing study was made with; None when there is no such study (a SQLite file that does
    not exist yet is not created to find out)."""
    url = resolve_storage_url(storage)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None
    try:
        return optuna.load_study(study_name=study, storage=open_storage(url)).user_attrs.get("space")
    except Exception:  # no such study, or a storage the run itself will name in its error
        return None


def say_holdout(data: SearchData) -> None:
    """The share --holdout obtained (whole groups hold out about what was asked, rarely exactly)."""
    held, rows = len(data.holdout_rows), data.manifest.rows
    if held:
        print(f"holding out {held} of {rows} rows ({held / rows:.1%}; asked {data.holdout_fraction:.1%}): no trial "
              "sees them", file=sys.stderr, flush=True)


def require_weights(space: Space) -> None:
    """Refuse (UserError) a space whose designs need ImageNet weights this machine cannot get (offline, nothing in
    $KERAS_HOME): each backbone the space can pair with them is built once with them, which downloads and caches
    the weights file the trials will read."""
    if IMAGENET not in _values(space, "weights") or not any(get_kind(f).uses_image for f in space.fusions):
        return
    from fusion_search.models import build_backbone, registered_backbones  # a study of designs without weights: no Keras

    size = min(space.image_sizes or (Design().image_size,))
    for name in _values(space, "backbone"):
        if name in registered_backbones():  # (the classical descriptors have no weights)
            build_backbone(name, size, IMAGENET, 0)


def _values(space: Space, name: str) -> tuple[Any, ...]:
    """Every value a design field can take in the space: its fixed value, its choices, or the design's default."""
    if name in space.fixed:
        return (space.fixed[name],)
    param = space.param(name)
    if param is not None and param.choices is not None:
        return tuple(param.choices)
    return (getattr(Design(), name),)
