"""The shuffled controls of the confirmation: the fusion candidate trained again on the same fresh folds with the
rows of one modality shuffled, so that modality cannot tell the label apart.

Beating the best single modality is not yet evidence that the second modality helped: in a study the fusion designs
get most of the trials (their shared image branch is tuned harder than image_only's few), and a fusion ensemble
blends more, and more varied, members. Both raise the AUC whatever the table holds. A control keeps all of that
(the same members, hyperparameters, weights, folds and seeds) and shuffles one modality's rows: that input keeps its
values, but no longer belongs to its row. "Fusion helped" then also needs the fusion candidate to beat its control
with the modality the best baseline lacks shuffled. Each test runs at 5%, and a claim needs both (an
intersection-union test: Berger 1982, Technometrics 24(4), needs no correction).

What beating the control shows is narrower than "that modality adds information": the real input, in place of a
shuffled copy of it, helps this design. A shuffled copy is not an absent input. Where the table repeats what the
image shows (a size, a site or an age the image shows too), the shuffled table contradicts the image and can cost the
design more than the real, redundant table gives it, so fusion can beat its shuffled-table control without adding
anything beyond the image.

Which baseline is best is only known on the fresh folds, and image and table baselines often score alike, so there
is one control per modality (a control chosen from the search's best baseline would test the wrong modality whenever
the other baseline wins on the fresh folds). Members that do not read the shuffled modality (an image_only member of
a fusion ensemble whose table is shuffled) serve that control with their ordinary units; only the others train
again.
"""

from __future__ import annotations

import numpy as np
import optuna

from fusion_search.designs import get_kind
from fusion_search.study._summary import trial_design
from fusion_search.trainers import MODALITIES

CONTROL = "control"  # its key in a confirmation's plan and summary
CONTROL_STREAM = 7  # the shuffle's random stream of a repeat: [the study's fold seed, repeat, CONTROL_STREAM]


def control_plan(study: optuna.Study, members: dict[int, int]) -> dict[str, list[int]]:
    """modality -> the fusion candidate's members that read it (trained again with it shuffled)."""
    return {modality: sorted(number for number in members if reads(study, number, modality)) for modality in MODALITIES}


def reads(study: optuna.Study, number: int, modality: str) -> bool:
    """Whether the trial's design takes that modality in."""
    kind = get_kind(trial_design(study, study.trials[number]).fusion)
    return kind.uses_numeric if modality == "table" else kind.uses_image


def shuffled_order(folds: np.ndarray, fold_seed: int, repeat: int) -> np.ndarray:
    """The rows' order in repeat's controls: a permutation within each fold of the repeat's fresh partition
    (``folds``; held-out rows, -1, stay). One per repeat, shared by every member and fold, so a blend's members see
    the same shuffled input. Nothing moves across folds: a validation fold's shuffled values are on no training
    row, which matters where a group's rows share their table (patients): spread across folds, its copies would sit
    on training rows with unrelated labels, and a model that memorised them would score the control below what an
    uninformative table scores."""
    order = np.arange(len(folds))
    rng = np.random.default_rng([fold_seed, repeat, CONTROL_STREAM])
    for fold in range(int(folds.max()) + 1):
        rows = np.flatnonzero(folds == fold)
        order[rows] = rng.permutation(rows)
    return order


def missing_modality(role: str) -> str:
    """The modality a baseline role (a design's name, or "ensemble:image" / "ensemble:numeric") does not read: the
    control that tests what fusion adds to it shuffles that one."""
    if role.startswith("ensemble:"):
        return "table" if role.split(":", 1)[1] == "image" else "image"
    return "table" if get_kind(role).uses_image else "image"
