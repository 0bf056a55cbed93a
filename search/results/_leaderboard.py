"""Terminal tables: the leaderboard (best design per fusion type vs the baselines) and trial counts."""

from __future__ import annotations

import sys

import optuna
from rich.console import Console
from rich.table import Table

from fusion_search.designs import baseline_fusions
from fusion_search.results._ensembles import ensemble_rows
from fusion_search.results._verdict import compare
from fusion_search.study import (
    best_baseline, best_per_fusion, confirmation_progress, design_label, diverged, pruned, skipped, state_counts, trial_counts,
)


def leaderboard_table(study: optuna.Study) -> Table:
    reference, counts = best_baseline(study), trial_counts(study)
    confirmed = {d["trial"]: d["mean_auc"] for d in study.user_attrs.get("confirmation", {}).get("designs", {}).values()
                 if d.get("trial") is not None}
    title = f"study {study.study_name}: best trial per fusion type (mean ROC AUC over folds ± std)"
    table = Table(title=title, title_justify="left")
    for column in ("fusion", "trials", "best", "AUC ± std", "OOF AUC", "Δ baseline", "fresh folds", "fold AUCs"):
        table.add_column(column, justify="left" if column == "fusion" else "right")
    for fusion, trial in best_per_fusion(study).items():
        delta = "-" if reference is None or fusion in baseline_fusions() else f"{trial.value - reference[1]:+.3f}"
        name = f"{design_label(trial)} (baseline)" if fusion in baseline_fusions() else design_label(trial)
        fresh = f"{confirmed[trial.number]:.3f}" if trial.number in confirmed else "-"
        table.add_row(name, str(counts.get(fusion, 0)), *_cells(trial, delta, fresh))
    for row in ensemble_rows(study):
        fresh = "-" if row["fresh"] is None else f"{row['fresh']:.3f}"
        table.add_row(row["name"], "-", "-", "-", f"{row['oof_auc']:.3f}", "-", fresh, row["members"])
    for fusion, trial in only_pruned(study).items():
        done = trial.user_attrs.get("folds_done")
        table.add_row(f"{fusion} (pruned)", "0",
                      *_cells(trial, f"{done}/{len(trial.user_attrs['fold_aucs'])} folds", "-"), style="dim")
    return table


def only_pruned(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """Fusion types whose every trial was pruned early: their best running mean, shown apart."""
    measured = best_per_fusion(study)
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in pruned(study):
        fusion = trial.user_attrs.get("fusion")
        if fusion not in measured and (fusion not in best or trial.value > best[fusion].value):
            best[fusion] = trial
    return dict(sorted(best.items(), key=lambda item: -item[1].value))


def _cells(trial: optuna.trial.FrozenTrial, delta: str, fresh: str) -> tuple[str, ...]:
    attrs = trial.user_attrs
    return (str(trial.number), f"{trial.value:.3f} ± {attrs.get('std_auc', float('nan')):.3f}",
            f"{attrs.get('oof_auc', float('nan')):.3f}", delta, fresh,
            " ".join("-" if a is None else f"{a:.2f}" for a in attrs.get("fold_aucs", [])))


def print_status(study: optuna.Study, console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 140)
    counts = state_counts(study)
    console.print(f"study {study.study_name}: " + (", ".join(f"{n} {s.lower()}" for s, n in counts.items()) or "no trials"))
    console.print(leaderboard_table(study))
    if too_large := skipped(study):
        console.print(f"{len(too_large)} trial(s) skipped, too large for device memory; "
                      f"trial {too_large[-1].number}: {too_large[-1].user_attrs['skipped']}")
    if unstable := diverged(study):
        console.print(f"{len(unstable)} trial(s) diverged (pruned, so the sampler avoids them); "
                      f"trial {unstable[-1].number} ({unstable[-1].user_attrs.get('fusion')}): "
                      f"{unstable[-1].user_attrs['diverged']}")
    progress = confirmation_progress(study)
    if progress is not None and progress[0] < progress[1]:
        console.print(f"confirmation on fresh folds: {progress[0]} of {progress[1]} trainings done "
                      "(`fusion-search confirm` resumes it)")
    console.print(compare(study).headline)
