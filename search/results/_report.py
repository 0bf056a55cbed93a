"""`fusion-search report`: one self-contained HTML page (Plotly, its JavaScript inline) about a study.

The page answers "does fusion help on this data?" in its first sentence, then shows the evidence:
optimisation history, mean AUC by fusion type against the baselines, per-fold AUC of the best
design against the best baseline with a paired test, parameter importances, out-of-fold ROC curves.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import optuna
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots
from plotly.colors import qualitative
from sklearn.metrics import roc_auc_score, roc_curve

from fusion_search._errors import UserError
from fusion_search.designs import baseline_fusions, list_designs
from fusion_search.results._classes import class_rows, study_classes
from fusion_search.results._confirmation import confirmation_in_words, describe
from fusion_search.results._ensembles import ensemble_rows
from fusion_search.results._leaderboard import CLASS_COLUMNS, baseline_deltas, class_cells
from fusion_search.results._verdict import Comparison, compare, headline, paired_test_in_words
from fusion_search.storage import write_text_atomically
from fusion_search.study import (
    MAX_OOF_ROWS,
    MAX_OOF_VALUES,
    is_below_chance,
    baselines,
    best_per_fusion,
    completed,
    oof_labels,
    oof_scores,
    pruned,
    running_mean,
    trial_counts,
)

TITLES = {
    "confirmation": "Confirmation on fresh folds",
    "history": "Optimisation history",
    "by_fusion": "Mean AUC by fusion type",
    "folds": "Per-fold AUC: best fusion design vs best baseline",
    "importance": "Parameter importances within the best fusion design's family",
    "roc": "Search folds: out-of-fold ROC curves of the search's best trials (not the confirmation)",
}
MIN_TRIALS_FOR_IMPORTANCE = 3


def write_report(study: optuna.Study, path: Path) -> None:
    """Build the whole page first, then write it whole (never half a file)."""
    if not Path(path).parent.is_dir():  # before the page is built: a wrong folder is found at once
        raise UserError(f"output folder does not exist: {Path(path).parent}")
    write_text_atomically(path, report_html(study))


def _confirmation_words(study: optuna.Study, comparison: Comparison) -> str:
    if comparison.confirmed:
        return confirmation_in_words(comparison.confirmed)
    if comparison.failed_references:
        return (f"Ran, but every baseline ({', '.join(comparison.failed_references)}) diverged or ran out of memory "
                "twice on every fresh fold: there is no reference to test fusion against, and running it again "
                "replays none of those units.")
    return ("Not run yet: the search's lead is unconfirmed. `fusion-search confirm "
            f"--study {study.study_name} --data MANIFEST` trains the best fusion design and the baselines again on "
            "fresh folds and tests the difference.")


def report_html(study: optuna.Study) -> str:
    if not completed(study):
        raise UserError(f"study '{study.study_name}' has no complete trial yet: nothing to report")
    comparison = compare(study)
    sections = [
        ("confirmation", confirmation_figure(comparison), _confirmation_words(study, comparison)),
        ("history", history_figure(study), ""),
        ("by_fusion", by_fusion_figure(study), "Each point is one trial evaluated on every fold (trials pruned early "
                                               "are left out); dashed lines are the baselines' best."),
        ("folds", folds_figure(comparison), paired_test_in_words(comparison.test) if comparison.test else
         "Needs a complete fusion trial and a complete baseline trial scored on the same folds."),
        ("importance", *importance_section(study, comparison)),
        ("roc", *roc_section(study, comparison)),
    ]
    body = [f"<h1>Study {html.escape(study.study_name)}</h1>",
            f'<p class="verdict">{html.escape(headline(comparison))}</p>', _summary_table(study), _class_table(study)]
    first = True
    for key, figure, note in sections:  # a plot carries its own title; a section without one gets a heading
        body.append(f'<section id="{key}">' + (f"<h2>{TITLES[key]}</h2>" if figure is None else ""))
        if figure is not None:
            body.append(pio.to_html(figure, full_html=False, include_plotlyjs=first, div_id=f"plot-{key}",
                                    config={"displaylogo": False, "responsive": True}))
            first = False
        body.append(f'<p class="note">{html.escape(note)}</p></section>')
    return PAGE.format(title=html.escape(f"fusion-search report: {study.study_name}"), body="\n".join(body))


def confirmation_figure(comparison: Comparison) -> go.Figure | None:
    """Fold-by-fold AUC on the fresh folds: the fusion candidate against the best baseline (and its shuffled
    control, dotted). Folds are numbered from
    0 as in the per-fold chart (repeat r's fold f is r x K + f); the legend is short and sits below the plot (an
    ensemble's members are named in the text beside it)."""
    done = comparison.confirmed
    if done is None:
        return None
    figure = go.Figure()
    colours = _role_colours(done.fusion["fusion"], done.baseline["fusion"])
    for design, role, colour in zip((done.fusion, done.baseline), ("fusion", "best baseline"), colours):
        figure.add_scatter(x=list(range(len(design["aucs"]))), y=design["aucs"], mode="lines+markers",
                           marker={"size": 9}, line={"color": colour}, hovertext=design["fusion"],
                           name=f"{role}: {_short_name(design)}, mean {design['mean_auc']:.3f}")
    if done.control is not None and done.control["mean_auc"] is not None:
        figure.add_scatter(x=list(range(len(done.control["aucs"]))), y=done.control["aucs"], mode="lines+markers",
                           marker={"size": 7}, line={"color": colours[0], "dash": "dot"}, opacity=0.6,
                           name=f"control: fusion with {done.control['modality']} shuffled, "
                                f"mean {done.control['mean_auc']:.3f}")
    figure.update_xaxes(dtick=1 if len(done.fusion["aucs"]) <= 20 else None)
    _layout(figure, "confirmation", f"fresh fold ({done.repeats} repeat(s) x {done.folds} folds)",
            "AUC on the held-out fold")
    figure.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0}, height=460,
                         margin={"b": 90})
    return figure


def _short_name(design: dict) -> str:
    """'concat, trial 4', or 'ensemble of 3 trials' (never 'trial None')."""
    if design.get("trial") is not None:
        return f"{design['fusion']}, trial {design['trial']}"
    return f"ensemble of {len(design.get('members', {}))} trials"


def _role_colours(fusion: str, baseline: str) -> tuple[str, str]:
    """The designs' own colours where they are registered designs, else fixed ones; never the same twice."""
    first, second = (_colour(name.split(" ")[0]) if name.split(" ")[0] in list_designs() else fallback
                     for name, fallback in ((fusion, "#d62728"), (baseline, "#1f77b4")))
    return first, (second if second != first else "#7f7f7f")


def history_figure(study: optuna.Study) -> go.Figure:
    trials = sorted(completed(study), key=lambda t: t.number)
    figure = go.Figure()
    for fusion in _fusions_in(trials):
        mine = [t for t in trials if _fusion(t) == fusion]
        figure.add_scatter(x=[t.number for t in mine], y=[t.value for t in mine], mode="markers", name=fusion,
                           marker={"color": _colour(fusion), "size": 9})
    stopped = pruned(study)
    if stopped:
        figure.add_scatter(x=[t.number for t in stopped], y=[running_mean(t) for t in stopped], mode="markers",
                           name="pruned early (running mean)", text=[_fusion(t) for t in stopped],
                           marker={"color": "#bbb", "size": 7, "symbol": "x"})
    best = np.maximum.accumulate([t.value for t in trials])
    figure.add_scatter(x=[t.number for t in trials], y=best, mode="lines", line={"shape": "hv", "color": "#444"},
                       name="best so far")
    figure.update_xaxes(tickformat="d")
    return _layout(figure, "history", "trial", "mean AUC over folds")


def by_fusion_figure(study: optuna.Study) -> go.Figure:
    trials = completed(study)
    figure = go.Figure()
    for fusion in _fusions_in(trials):
        values = [t.value for t in trials if _fusion(t) == fusion]
        figure.add_box(y=values, name=fusion, boxpoints="all", jitter=0.3, pointpos=0,
                       marker={"color": _colour(fusion)}, showlegend=False)
    for name, value in baselines(study).items():
        if value is not None:
            figure.add_hline(y=value, line={"dash": "dash", "color": _colour(name)},
                             annotation_text=f"{name} {value:.3f}", annotation_position="top left")
    return _layout(figure, "by_fusion", "fusion type", "mean AUC over folds")


def folds_figure(comparison: Comparison) -> go.Figure | None:
    if comparison.test is None:
        return None
    figure = go.Figure()
    for trial in (comparison.fusion, comparison.baseline):
        aucs = trial.user_attrs["fold_aucs"]
        figure.add_scatter(x=list(range(len(aucs))), y=aucs, mode="lines+markers", marker={"size": 10},
                           line={"color": _colour(_fusion(trial))}, name=f"{_fusion(trial)} (trial {trial.number})")
    figure.update_xaxes(dtick=1)
    return _layout(figure, "folds", "fold", "AUC on the held-out fold")


def importance_section(study: optuna.Study, comparison: Comparison) -> tuple[go.Figure | None, str]:
    """fANOVA importances within the family of the search's best fusion design: across families the fusion type
    takes all the variance (one bar, fusion = 1.0), which says nothing the leaderboard does not."""
    if comparison.fusion is None:
        return None, "No fusion design was scored on every fold, so there is no design whose settings to rank."
    family = _fusion(comparison.fusion)
    trials = [t for t in completed(study) if _fusion(t) == family]
    if len(trials) < MIN_TRIALS_FOR_IMPORTANCE:
        return None, (f"Only {len(trials)} {family} trial(s) were scored on every fold: too few to rank its settings "
                      f"(needs {MIN_TRIALS_FOR_IMPORTANCE}). The leaderboard compares the designs themselves.")
    shared = set.intersection(*(set(t.params) for t in trials)) - {"fusion"}
    varying = sorted(name for name in shared if len({repr(t.params[name]) for t in trials}) > 1)
    if not varying:
        return None, f"No setting varies across the {len(trials)} {family} trials, so there is nothing to rank."
    family_study = optuna.create_study(direction="maximize")
    family_study.add_trials(trials)
    try:
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        importances = optuna.importance.get_param_importances(family_study, evaluator=evaluator, params=varying)
    except (RuntimeError, ValueError, ZeroDivisionError) as error:
        return None, f"Importances could not be estimated for this study ({error})."
    names = list(importances)[::-1]
    figure = go.Figure(go.Bar(x=[importances[n] for n in names], y=names, orientation="h", marker={"color": "#4c78a8"}))
    figure = _layout(figure, "importance", "importance", "")
    figure.update_layout(title={"text": f"{TITLES['importance']}: {family}"})
    note = (f"fANOVA share of the variance of mean AUC over the {len(trials)} {family} trials scored on every fold "
            f"({family} is the search's best fusion design): which of its settings mattered. Across designs the "
            "fusion type alone would take the whole share; the leaderboard compares the designs instead.")
    return figure, note


def roc_section(study: optuna.Study, comparison: Comparison) -> tuple[go.Figure | None, str]:
    labels = oof_labels(study)
    if labels is None:
        return None, (f"No out-of-fold scores are stored for this study (kept for data of at most {MAX_OOF_ROWS} rows, "
                      f"and at most {MAX_OOF_VALUES} scores a trial: rows times classes).")
    best = best_per_fusion(study)
    chosen = ([comparison.fusion] if comparison.fusion is not None else []) + \
        [best[name] for name in baseline_fusions() if name in best]
    classes = [name for name, _ in study_classes(study)]
    figure = _roc_axes(classes)
    skipped, searched = [], labels >= 0  # held-out rows (-1) were scored by no fold
    for trial in chosen:
        scores = oof_scores(trial)
        if scores is None or len(scores) != len(labels) or not np.all(np.isfinite(scores[searched])):
            skipped.append(f"trial {trial.number}")
            continue
        y, s = labels[searched].astype(int), scores[searched]
        for k, name in enumerate(classes or [None]):  # K classes: class k against the rest, ranked by its column
            positive, score = (y, s) if name is None else (y == k, s[:, k])
            fpr, tpr, _ = roc_curve(positive, score)
            auc = roc_auc_score(positive, score)
            figure.add_scatter(x=fpr, y=tpr, mode="lines", line={"color": _colour(_fusion(trial))},
                               legendgroup=str(trial.number), showlegend=k == 0,
                               name=f"{_fusion(trial)} (trial {trial.number}, search's best "
                                    + ("baseline" if _fusion(trial) in baseline_fusions() else "fusion design")
                                    + (f", OOF AUC {auc:.3f})" if name is None else ")"),
                               hovertemplate=f"{_fusion(trial)} AUC {auc:.3f}<extra></extra>",
                               **({} if name is None else {"row": k // ROC_COLUMNS + 1, "col": k % ROC_COLUMNS + 1}))
    note = ("The search's best fusion design and each baseline's best trial on the search's own folds, where they "
            "were chosen, so optimistic: every row scored by the model of the fold that held it out, pooled into one "
            "curve per trial. A gap between these curves is not the verdict.")
    note += _confirmed_designs(comparison)
    if classes:
        note += (" One panel per class: its rows against all others, ranked by the class's score (one-vs-rest; the "
                 "macro AUC is the mean of the panels' AUCs, shown on hover).")
    if skipped:
        note += f" No usable out-of-fold scores for {', '.join(skipped)}."
    _layout(figure, "roc", "false positive rate", "true positive rate")
    if classes:
        figure.update_layout(height=300 * ((len(classes) - 1) // ROC_COLUMNS + 1) + 80, xaxis_title=None,
                             yaxis_title=None)
    figure.update_layout(legend={"x": 0.98, "y": 0.02, "xanchor": "right", "yanchor": "bottom",  # the corner
                                 "bgcolor": "rgba(255,255,255,0.8)", "font": {"size": 11}})  # curves leave empty
    return figure, note


def _confirmed_designs(comparison: Comparison) -> str:
    """What the verdict compared instead, on fresh folds (where it differs from the curves' trials)."""
    done = comparison.confirmed
    if done is None:
        return " The verdict waits for the confirmation on fresh folds."
    return (f" The verdict compares, on fresh folds, the fusion candidate ({describe(done.fusion)}, "
            f"{done.fusion['mean_auc']:.3f}) with the best baseline there ({describe(done.baseline)}, "
            f"{done.baseline['mean_auc']:.3f}): the confirmation plot shows them.")


ROC_COLUMNS = 4  # panels a row, for K classes


def _roc_axes(classes: list[str]) -> go.Figure:
    """One square panel with the chance diagonal; for K classes a grid of them, a panel per class."""
    if not classes:
        figure = go.Figure()
        figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="chance")
        figure.update_xaxes(range=[0, 1], constrain="domain")
        figure.update_yaxes(scaleanchor="x", scaleratio=1, range=[0, 1.01], constrain="domain")
        return figure
    columns = min(ROC_COLUMNS, len(classes))
    figure = make_subplots(rows=(len(classes) - 1) // ROC_COLUMNS + 1, cols=columns, subplot_titles=classes,
                           horizontal_spacing=0.05, vertical_spacing=0.12)
    for k in range(len(classes)):
        figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dot", "color": "#999"}, name="chance",
                           showlegend=k == 0, legendgroup="chance", row=k // ROC_COLUMNS + 1, col=k % ROC_COLUMNS + 1)
    figure.update_xaxes(range=[0, 1])
    figure.update_yaxes(range=[0, 1.01])
    return figure


def _class_table(study: optuna.Study) -> str:
    """K classes: the best design on each class and fusion's gain there (one-vs-rest AUC, out of fold)."""
    rows = class_rows(study)
    if not rows:
        return ""
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in class_cells(row)) + "</tr>"
                    for row in rows)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in CLASS_COLUMNS)
    return (f"<table>{head}{cells}</table><p class=\"small\">Per class: its rows against all others (one-vs-rest "
            "ROC AUC over the pooled out-of-fold scores of each design's best trial); fusion gain: the best fusion "
            "design's AUC on the class minus the best baseline's. Search-stage numbers, optimistic like every best "
            "of many: the verdict rests on the macro AUC's confirmation.</p>")


def _summary_table(study: optuna.Study) -> str:
    rows, best, counts, deltas = [], best_per_fusion(study), trial_counts(study), baseline_deltas(study)
    fresh = {d["trial"]: d["mean_auc"] for d in study.user_attrs.get("confirmation", {}).get("designs", {}).values()
             if d.get("trial") is not None and d["mean_auc"] is not None}
    for fusion, trial in best.items():
        attrs = trial.user_attrs
        role = (" (baseline)" if fusion in baseline_fusions() else "") + (
            " (below chance)" if is_below_chance(trial) else "")
        delta = deltas.get(fusion)
        rows.append(f"<tr><td>{html.escape(fusion)}{role}</td><td>{counts.get(fusion, 0)}</td><td>{trial.number}</td>"
                    f"<td>{trial.value:.3f}</td><td>{attrs.get('std_auc', float('nan')):.3f}</td>"
                    f"<td>{attrs.get('oof_auc', float('nan')):.3f}</td><td>{'' if delta is None else f'{delta:+.3f}'}"
                    f"</td><td>{f'{fresh[trial.number]:.3f}' if trial.number in fresh else ''}</td></tr>")
    for row in ensemble_rows(study):
        confirmed = "" if row["fresh"] is None else f"{row['fresh']:.3f}"
        rows.append(f"<tr><td>{html.escape(row['name'])}</td><td colspan=\"5\">{html.escape(row['members'])}</td>"
                    f"<td>OOF {row['oof_auc']:.3f}</td><td>{confirmed}</td></tr>")
    missing = [name for name in baseline_fusions() if name not in best]
    if missing:
        rows.append(f'<tr><td colspan="8" class="small">{", ".join(missing)}: no trial evaluated on every fold yet '
                    "(not run, failed, or stopped by fold pruning), so it is missing from the plots</td></tr>")
    head = ("<tr><th>fusion</th><th>trials</th><th>best trial</th><th>mean AUC</th><th>std</th><th>OOF AUC</th>"
            "<th>Δ baseline*</th><th>fresh folds</th></tr>")
    return (f"<table>{head}{''.join(rows)}</table><p class=\"small\">Best trial per fusion type; trials: how many "
            "of its trials were scored on every fold (how hard it was tuned); fresh folds: its mean AUC in the "
            "confirmation. *Δ baseline: the mean AUC minus the best baseline's, as `status` shows it (a trial's "
            "dashboard note also gives its Δ against the baselines known when it finished).</p>")


def _layout(figure: go.Figure, key: str, x_title: str, y_title: str) -> go.Figure:
    figure.update_layout(title={"text": TITLES[key]}, xaxis_title=x_title, yaxis_title=y_title, template="plotly_white",
                         height=420, margin={"l": 60, "r": 20, "t": 60, "b": 50})
    return figure


def _fusion(trial: optuna.trial.FrozenTrial) -> str:
    return trial.user_attrs.get("fusion", trial.params.get("fusion", "?"))


def _fusions_in(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """Baselines first, then the fusions, each in registry order."""
    present = {_fusion(t) for t in trials}
    order = baseline_fusions() + [f for f in list_designs() if f not in baseline_fusions()]
    return [f for f in order if f in present] + sorted(present - set(order))


def _colour(fusion: str) -> str:
    names = list_designs()
    index = names.index(fusion) if fusion in names else len(names)
    return qualitative.D3[index % len(qualitative.D3)]


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; }}
.verdict {{ font-size: 1.25em; background: #f3f6fa; border-left: 4px solid #4c78a8; padding: .6em 1em; }}
table {{ border-collapse: collapse; }} td, th {{ padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }} .small {{ font-size: .85em; color: #666; }}
.note {{ margin: 0 0 2em 0; color: #444; }} section {{ margin-top: 1.5em; }}
</style></head>
<body>
{body}
</body></html>
"""
