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
from fusion_search.spaces import Space, list_spaces, load_space, space_from_record
from fusion_search.storage import open_storage, resolve_storage_url

AUTO = "auto"
AUTO_SPACES = {"GPU": "default", "CPU": "balanced"}  # what `auto` means on a machine that trains on this device
IMAGENET = "imagenet"


def chosen_space(space: str | Path | Space, study: str | None = None, storage: str | None = None) -> Space:
    """The space to search: as given, or for ``auto`` the shipped space study ``study`` was made with, else the one
    for this machine's device (AUTO_SPACES). Says which ``auto`` chose, and why, on stderr. A study made with a
    shipped space resumes with the ranges it stored, also after that shipped file changed (said on stderr)."""
    if isinstance(space, Space):
        return space
    stored_name, stored_record = _stored_space(study, storage) if study else (None, None)
    if str(space) != AUTO:
        name = str(space)
    elif stored_name in list_spaces():
        name = stored_name
        print(f"space auto: {name} (the space study '{study}' was made with)", file=sys.stderr, flush=True)
    else:
        from fusion_search.models import device_name  # Keras loads only when a run needs to know the device

        device = device_name()
        name = AUTO_SPACES[device]
        print(f"space auto: {name} (this machine trains on a {device})", file=sys.stderr, flush=True)
    shipped = load_space(name)
    if name == stored_name and stored_record is not None and shipped.record() != stored_record:
        print(f"space {name}: as study '{study}' stored it (the shipped {name} has changed since the study was made)",
              file=sys.stderr, flush=True)
        return space_from_record(stored_record, name, shipped.description)
    return shipped


def _stored_space(study: str, storage: str | None) -> tuple[str | None, dict | None]:
    """(space name, resolved space record) an existing study was made with; (None, None) when there is no such
    study (a SQLite file that does not exist yet is not created to find out). A storage that cannot be opened is
    open_storage's one-line UserError; any other failure is raised as it is, never taken for "no study" (which
    would resume an existing study with another space)."""
    url = resolve_storage_url(storage)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return None, None
    opened = open_storage(url)
    try:
        attrs = optuna.load_study(study_name=study, storage=opened).user_attrs
    except KeyError:  # what Optuna's storages (the gRPC proxy's too) raise for a study name they do not hold
        return None, None
    return attrs.get("space"), attrs.get("space_resolved")


def say_holdout(data: SearchData) -> None:
    """The share --holdout obtained (whole groups hold out about what was asked, rarely exactly)."""
    held, rows = len(data.holdout_rows), data.manifest.rows
    if held:
        print(f"holding out {held} of {rows} rows ({held / rows:.1%}; asked {data.holdout_fraction:.1%}): no trial "
              "sees them", file=sys.stderr, flush=True)


def say_classes(data: SearchData) -> None:
    """With more than two classes, the classes and their rows (K classes), or which one is scored against which
    others (--positive), so a stray value (a typo'd class) shows before it trains."""
    manifest = data.manifest
    if manifest.n_classes > 2:
        print(f"label: {manifest.n_classes} classes, scored by macro one-vs-rest AUC: "
              + ", ".join(f"{name} {rows}" for name, rows in manifest.classes), file=sys.stderr, flush=True)
    elif len(manifest.classes) > 2:
        rest = ", ".join(f"{name} {rows}" for name, rows in manifest.classes if name != manifest.positive_class)
        print(f"label: {manifest.positive_class} ({manifest.positives} rows) against the rest: {rest}",
              file=sys.stderr, flush=True)


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
