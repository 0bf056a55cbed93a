"""The leaderboard (best trial per design, the ensembles, designs only pruned) as rows, a terminal table and HTML."""

from __future__ import annotations

import html
import sys

import optuna
from rich.console import Console
from rich.table import Table

from fusion_search.designs import baseline_fusions
from fusion_search.results._classes import class_rows
from fusion_search.results._ensembles import ensemble_rows
from fusion_search.results._verdict import compare
from fusion_search.study import (
    BELOW_CHANCE, is_below_chance, best_baseline, best_per_fusion, confirmation_progress, design_label, diverged, pruned, running_mean, skipped, state_counts, trial_counts,
)


WIDTH = 120  # of the status output when it is not a terminal (a log, a pipe): the table fits it


def leaderboard_rows(study: optuna.Study) -> list[dict]:
    """The leaderboard as rows (what `status` shows, numbers as numbers): each design's best trial scored on every
    fold, the study's ensembles, and the designs whose every trial fold pruning stopped (``complete_trials`` 0)."""
    counts, deltas = trial_counts(study), baseline_deltas(study)
    confirmed = {d["trial"]: d["mean_auc"] for d in study.user_attrs.get("confirmation", {}).get("designs", {}).values()
                 if d.get("trial") is not None}
    rows = []
    for fusion, trial in best_per_fusion(study).items():
        name = f"{design_label(trial)} (baseline)" if fusion in baseline_fusions() else design_label(trial)
        name += " (below chance)" if is_below_chance(trial) else ""
        rows.append(_trial_row(name, "design", counts.get(fusion, 0), trial, deltas.get(fusion),
                               confirmed.get(trial.number)))
    for row in ensemble_rows(study):
        rows.append({"design": row["name"], "kind": "ensemble", "complete_trials": None, "best_trial": None,
                     "mean_auc": None, "std_auc": None, "oof_auc": row["oof_auc"], "delta_baseline": None,
                     "fresh_folds": row["fresh"], "fold_aucs": None, "members": row["members"]})
    for fusion, trial in only_pruned(study).items():
        rows.append({**_trial_row(f"{fusion} (pruned)", "pruned", 0, trial, None, None),
                     "folds_done": trial.user_attrs.get("folds_done")})
    return rows


def baseline_deltas(study: optuna.Study) -> dict[str, float]:
    """Δ baseline of each fusion design's best trial: its mean AUC minus the best baseline's best mean AUC now (the
    one number `status`, the report and the dashboard's note show; a trial's own note also gives the Δ it had
    against the baselines known when it finished, named so)."""
    reference = best_baseline(study)
    if reference is None:
        return {}
    return {fusion: round(trial.value - reference[1], 6) for fusion, trial in best_per_fusion(study).items()
            if fusion not in baseline_fusions()}


def _trial_row(name: str, kind: str, complete: int, trial: optuna.trial.FrozenTrial, delta: float | None,
               fresh: float | None) -> dict:
    attrs = trial.user_attrs
    return {"design": name, "kind": kind, "complete_trials": complete, "best_trial": trial.number,
            "mean_auc": running_mean(trial), "std_auc": attrs.get("std_auc"), "oof_auc": attrs.get("oof_auc"),
            "delta_baseline": delta, "fresh_folds": fresh, "fold_aucs": list(attrs.get("fold_aucs", [])),
            "members": None}


COLUMNS = ("design", "trials", "best", "AUC ± std", "OOF AUC", "Δ baseline", "fresh folds", "fold AUCs / members")


def leaderboard_table(study: optuna.Study) -> Table:
    """leaderboard_rows drawn for a terminal: at 120 columns the fold AUCs (or an ensemble's members) wrap within
    their own column, the other columns never wrap."""
    title = f"study {study.study_name}: best trial per design (mean ROC AUC over folds ± std)"
    table = Table(title=title, title_justify="left")
    for column in COLUMNS:
        wraps = column in {"design", COLUMNS[-1]}
        table.add_column(column, justify="left" if wraps else "right", no_wrap=not wraps,
                         min_width=14 if wraps else None, overflow="fold" if wraps else "ellipsis",
                         ratio=1 if column == COLUMNS[-1] else None)
    for row in leaderboard_rows(study):
        table.add_row(*row_cells(row), style="dim" if row["kind"] == "pruned" else None)
    return table


CLASS_COLUMNS = ("class", "rows", "best design (trial)", "its AUC", "best baseline", "best fusion", "fusion gain")


def class_table(study: optuna.Study) -> Table | None:
    """K >= 3 classes: per class, the best design on it and fusion's gain over the best baseline (one-vs-rest AUC,
    out of fold); None for two classes."""
    rows = class_rows(study)
    if not rows:
        return None
    table = Table(title="per class: one-vs-rest AUC out of fold, each design's best trial", title_justify="left")
    for column in CLASS_COLUMNS:
        table.add_column(column, justify="left" if column in {"class", "best design (trial)"} else "right")
    for row in rows:
        table.add_row(*class_cells(row))
    return table


def class_cells(row: dict) -> tuple[str, ...]:
    def number(value: float | None, form: str = ".3f") -> str:
        return "-" if value is None else format(value, form)

    return (row["class"], str(row["rows"]), f"{row['best_design']} ({row['best_trial']})", number(row["auc"]),
            number(row["best_baseline_auc"]), number(row["best_fusion_auc"]), number(row["fusion_gain"], "+.3f"))


def row_cells(row: dict) -> tuple[str, ...]:
    """One leaderboard row as the table's text cells."""
    def number(value: float | None, form: str = ".3f") -> str:
        return "-" if value is None else format(value, form)

    if row["kind"] == "ensemble":
        return row["design"], "-", "-", "-", number(row["oof_auc"]), "-", number(row["fresh_folds"]), row["members"]
    trials = "0 complete" if row["kind"] == "pruned" else str(row["complete_trials"])
    delta = (f"{row['folds_done']}/{len(row['fold_aucs'])} folds" if row["kind"] == "pruned"
             else number(row["delta_baseline"], "+.3f"))
    spread = f"{number(row['mean_auc'])} ± {number(row['std_auc'])}"
    folds = " ".join("-" if a is None else f"{a:.2f}" for a in row["fold_aucs"])
    return (row["design"], trials, str(row["best_trial"]), spread, number(row["oof_auc"]), delta,
            number(row["fresh_folds"]), folds)


def only_pruned(study: optuna.Study) -> dict[str, optuna.trial.FrozenTrial]:
    """Fusion types whose every trial was pruned early: their best running mean, shown apart."""
    measured = best_per_fusion(study)
    best: dict[str, optuna.trial.FrozenTrial] = {}
    for trial in pruned(study):
        fusion = trial.user_attrs.get("fusion")
        if fusion not in measured and (fusion not in best or running_mean(trial) > running_mean(best[fusion])):
            best[fusion] = trial
    return dict(sorted(best.items(), key=lambda item: -running_mean(item[1])))


def leaderboard_html(study: optuna.Study) -> str:
    """The study's state, the leaderboard and the headline as `status` shows them, as HTML for a notebook."""
    cells = "".join(f"<tr>{''.join(f'<td>{html.escape(c)}</td>' for c in row_cells(row))}</tr>"
                    for row in leaderboard_rows(study))
    header = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    return (f"<p><b>study {html.escape(study.study_name)}</b>: {html.escape(state_line(study))}</p>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{cells}</tbody></table>"
            f"<p>{html.escape(compare(study).headline)}</p>")


def state_line(study: optuna.Study) -> str:
    """'5 complete, 1 fail', or 'no trials'."""
    return ", ".join(f"{n} {s.lower()}" for s, n in state_counts(study).items()) or "no trials"


def print_status(study: optuna.Study, console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else WIDTH)
    console.print(f"study {study.study_name}: {state_line(study)}")
    console.print(leaderboard_table(study))
    if (classes := class_table(study)) is not None:
        console.print(classes)
    if too_large := skipped(study):
        console.print(f"{len(too_large)} trial(s) skipped, too large for device memory; "
                      f"trial {too_large[-1].number}: {too_large[-1].user_attrs['skipped']}")
    if unstable := diverged(study):
        console.print(f"{len(unstable)} trial(s) diverged (pruned, so the sampler avoids them); "
                      f"trial {unstable[-1].number} ({unstable[-1].user_attrs.get('fusion')}): "
                      f"{unstable[-1].user_attrs['diverged']}")
    if flagged := [t for t in study.get_trials(deepcopy=False) if is_below_chance(t)]:
        console.print(f"{len(flagged)} trial(s) scored below chance out of fold (never ensemble members); "
                      f"trial {flagged[-1].number} ({flagged[-1].user_attrs.get('fusion')}): "
                      f"{flagged[-1].user_attrs[BELOW_CHANCE]}")
    progress = confirmation_progress(study)
    if progress is not None and progress[0] < progress[1]:
        console.print(f"confirmation on fresh folds: {progress[0]} of {progress[1]} trainings done "
                      "(`fusion-search confirm` resumes it)")
    console.print(compare(study).headline)
