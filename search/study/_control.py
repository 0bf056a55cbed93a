"""The shuffled control of the confirmation: the fusion candidate trained again on the same fresh folds with the
rows of one modality shuffled, so that modality cannot tell the label apart.

Beating the best single modality is not yet evidence that the second modality helped: in a study the fusion designs
get most of the trials (their shared image branch is tuned harder than image_only's few), and a fusion ensemble
blends more, and more varied, members. Both raise the AUC whatever the table holds. The control keeps all of that
(the same members, hyperparameters, weights, folds and seeds) and takes away only the information in the modality
the best baseline lacks: "fusion helped" then also needs the fusion candidate to beat its own control. Each test runs at
5%, and a claim needs both (an intersection-union test: Berger 1982, Technometrics 24(4), needs no correction).

Which modality: the one the search's best baseline does not read (chosen before any fresh fold is seen). Members
that do not read it (an image_only member of a fusion ensemble whose table is shuffled) serve the control with their
ordinary units; only the others train again.
"""

from __future__ import annotations

import optuna

from fusion_search.designs import get_kind
from fusion_search.study._summary import best_baseline, trial_design

CONTROL = "control"  # its key in a confirmation's plan and summary
CONTROL_STREAM = 7  # the shuffle's random stream of a repeat: [fold seed, repeat, CONTROL_STREAM]


def control_plan(study: optuna.Study, members: dict[int, int]) -> dict:
    """{"modality": what is shuffled, "shuffled": the members trained again (trial numbers)} for the fusion
    candidate's members."""
    reference = best_baseline(study)
    modality = "table" if reference is None or get_kind(reference[0]).uses_image else "image"
    shuffled = [number for number in members if reads(study, number, modality)]
    return {"modality": modality, "shuffled": shuffled}


def reads(study: optuna.Study, number: int, modality: str) -> bool:
    """Whether the trial's design takes that modality in."""
    kind = get_kind(trial_design(study, study.trials[number]).fusion)
    return kind.uses_numeric if modality == "table" else kind.uses_image


def shuffle_seed(fold_seed: int, repeat: int) -> list[int]:
    """The permutation of repeat's control: one per repeat, shared by every member and fold, so the blend's members
    see the same shuffled table."""
    return [fold_seed, repeat, CONTROL_STREAM]


def lacks(role: str, modality: str) -> bool:
    """Whether a baseline role (a design's name, or "ensemble:image" / "ensemble:numeric") reads no `modality`:
    the control tests what fusion adds to that baseline only then."""
    if role.startswith("ensemble:"):
        return role.split(":", 1)[1] != ("numeric" if modality == "table" else "image")
    kind = get_kind(role)
    return not (kind.uses_numeric if modality == "table" else kind.uses_image)
