"""K >= 3 classes: which design is best on each class, and on which classes fusion gained most over the best single
modality. Each class is scored by its one-vs-rest ROC AUC over the pooled out-of-fold scores of a design's best trial
(trial attr ``class_aucs``): search-stage numbers, optimistic like every best-of-many, so the words say "out of fold"
and claim nothing; the verdict's claim rests on the macro AUC's confirmation alone."""

from __future__ import annotations

import optuna

from fusion_search.designs import baseline_fusions
from fusion_search.study import best_per_fusion, design_label

CLASS_AUCS = "class_aucs"  # trial user attr: {class: one-vs-rest AUC out of fold}


def study_classes(study: optuna.Study) -> list[tuple[str, int]]:
    """(class, rows) of a K-class study, in label order; [] for a study of two classes."""
    return [(str(name), int(rows)) for name, rows in study.user_attrs.get("classes") or ()]


def class_rows(study: optuna.Study) -> list[dict]:
    """Per class: its rows, the best design on it (trial, AUC), the best baseline's AUC on it, and the best fusion
    design's gain over that baseline (None where a side has no per-class AUCs)."""
    best = {name: trial for name, trial in best_per_fusion(study).items() if CLASS_AUCS in trial.user_attrs}
    rows = []
    for name, count in study_classes(study):
        scored = [(trial.user_attrs[CLASS_AUCS][name], fusion, trial) for fusion, trial in best.items()
                  if name in trial.user_attrs[CLASS_AUCS]]
        if not scored:
            continue
        top = max(scored, key=lambda item: item[0])
        sides = [max((a for a, fusion, _ in scored if (fusion in baseline_fusions()) == baseline), default=None)
                 for baseline in (True, False)]
        rows.append({"class": name, "rows": count, "best_design": design_label(top[2]), "best_trial": top[2].number,
                     "auc": top[0], "best_baseline_auc": sides[0], "best_fusion_auc": sides[1],
                     "fusion_gain": None if None in sides else round(sides[1] - sides[0], 6)})
    return rows


def class_gains_in_words(fusion: optuna.trial.FrozenTrial | None, baseline: optuna.trial.FrozenTrial | None) -> str:
    """' Per class, out of fold (one-vs-rest AUC, trial 5 minus trial 6; largest gain first): bcc +0.214, ...' for
    two trials with per-class AUCs, else ''."""
    if fusion is None or baseline is None:
        return ""
    ours, theirs = fusion.user_attrs.get(CLASS_AUCS), baseline.user_attrs.get(CLASS_AUCS)
    if not ours or not theirs:
        return ""
    gains = sorted(((ours[name] - theirs[name], name) for name in ours if name in theirs), reverse=True)
    listed = ", ".join(f"{name} {gain:+.3f}" for gain, name in gains)
    return (f" Per class, out of fold (one-vs-rest AUC of trial {fusion.number} minus trial {baseline.number}, "
            f"largest gain first): {listed}.")
