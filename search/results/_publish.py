"""The answer where dashboard users look: the verdict as the study's note, the report's evidence as its plots.

optuna-dashboard renders a study's note (Markdown, ``optuna_dashboard.save_note``) and its user-defined Plotly
figures (``save_plotly_graph_object``) on the study page. Written after a search and after a confirmation: the
note changes only when its text does; the figures are the report's own (``_report``), saved under fixed ids so
that a later verdict replaces them.
"""

from __future__ import annotations

import html
import math
import sys
import textwrap

import optuna
import plotly.graph_objects as go
from optuna_dashboard import save_plotly_graph_object

from fusion_search.results._classes import class_rows
from fusion_search.results._confirmation import (Confirmed, describe, detectable_gain, interval_text, level_text,
                                                 looks_in_words, p_text)
from fusion_search.results._leaderboard import CLASS_COLUMNS, class_cells
from fusion_search.results._report import by_fusion_figure, confirmation_figure, roc_section
from fusion_search.results._verdict import Comparison, compare, headline
from fusion_search.study import (CONTROL, companion_study, completed, confirmation_progress, progress_note, pruned,
                                 save_note_if_changed)

# graph object ids, in the order the study page shows them
FIGURES = ("fusion-search-verdict", "fusion-search-confirmation", "fusion-search-by-fusion", "fusion-search-roc")
CARD_WIDTH = 70  # characters per line of the verdict card


def publish_to_dashboard(study: optuna.Study, trials: int | None = None) -> bool:
    """Write the study's note (the verdict; the search's progress while fewer than ``trials`` have finished) and
    the report's figures; True when the note changed. The note and figures are a view of results already stored:
    when writing them fails, one line says so and the finished search or confirmation stands."""
    try:
        return _publish(study, trials)
    except Exception as error:  # noqa: BLE001 - any failure here must not undo a finished run
        print(f"fusion-search: the dashboard note and plots were not updated ({type(error).__name__}: {error})",
              file=sys.stderr)
        return False


def _publish(study: optuna.Study, trials: int | None) -> bool:
    finished = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,
                                                             optuna.trial.TrialState.PRUNED)))
    if trials is not None and finished < trials:
        return save_note_if_changed(study, progress_note(study, trials))
    comparison = compare(study)
    changed = save_note_if_changed(study, verdict_note(study, comparison))
    if (companion := companion_study(study)) is not None:
        save_note_if_changed(companion, companion_note(study, companion, comparison))
    if completed(study):
        for graph_id, figure in zip(FIGURES, _figures(study, comparison)):
            save_plotly_graph_object(study, figure, graph_object_id=graph_id)
    return changed


def _figures(study: optuna.Study, comparison: Comparison) -> list[go.Figure]:
    """The verdict card, then the report's figures (a placeholder where the report has none yet)."""
    confirmation = confirmation_figure(comparison) or _placeholder(
        "Confirmation on fresh folds: not run yet (the verdict waits for it)")
    roc = roc_section(study, comparison)[0] or _placeholder("Out-of-fold ROC curves: no out-of-fold scores stored")
    return [verdict_figure(headline(comparison)), confirmation, by_fusion_figure(study), roc]


def verdict_figure(sentence: str) -> go.Figure:
    """The verdict on the study's first page (optuna-dashboard shows the note on a tab of its own): the answer
    before the first colon in bold, the rest of the headline wrapped below it."""
    answer, _, rest = sentence.partition(": ")
    lines = [f"<b>{html.escape(answer)}</b>"] + [html.escape(line) for line in textwrap.wrap(rest, CARD_WIDTH)]
    figure = _placeholder("Verdict (in full: the Note tab)")
    figure.add_annotation(text="<br>".join(lines), x=0, y=1, xref="paper", yref="paper", xanchor="left",
                          yanchor="top", align="left", showarrow=False, font={"size": 14})
    figure.update_layout(height=120 + 22 * len(lines), margin={"l": 20, "r": 20, "t": 50, "b": 10})
    return figure


def _placeholder(title: str) -> go.Figure:
    figure = go.Figure()
    figure.update_layout(title={"text": title}, template="plotly_white", height=200,
                         xaxis={"visible": False}, yaxis={"visible": False})
    return figure


def companion_note(study: optuna.Study, companion: optuna.Study, comparison: Comparison) -> str:
    """The confirmation study's note: what its trials are, why its "Best Trial" and importance mean nothing, and a
    link back to the study whose verdict they make (the dashboard serves study pages at /dashboard/studies/ID)."""
    done = confirmation_progress(study) or (0, 0)
    back = f"/dashboard/studies/{study._study_id}/note"
    return "\n".join([
        f"# Confirmation of study `{study.study_name}`", "",
        f"This is not a search. Each trial here is one unit of [study `{study.study_name}`]({back})'s confirmation: "
        "one of its chosen designs trained again on one fold of a fresh partition of the rows (or on every search "
        "row and scored on the held-out rows, or with one input shuffled for the control). A trial's value is that "
        "one fold's AUC: the \"Best Trial\" here is one lucky fold, not a design's score, and the units have no "
        "hyperparameters for the importance panel to rank.", "",
        f"Units: {done[0]} of {done[1]} complete.", "",
        f"**The verdict**, with its evidence, is on [study `{study.study_name}`'s note]({back}):", "",
        f"> {headline(comparison)}"])


def verdict_note(study: optuna.Study, comparison: Comparison | None = None) -> str:
    """The study's note in Markdown: the headline, then the confirmed designs and the corrected test."""
    comparison = comparison or compare(study)
    lines = [headline(comparison), ""]
    done = comparison.confirmed
    if done is None:
        lines += _unconfirmed(study, comparison)
    else:
        lines += _confirmed_table(study, done) + [""] + _test_lines(done)
    lines += _class_lines(study)
    stopped = len(pruned(study))
    lines += ["", f"Search: {len(completed(study))} trials scored on every fold, {stopped} pruned early. The study's "
              "first page shows the report's plots (`fusion-search report` draws the same); each trial's note says "
              "how it scored."]
    return "\n".join(lines)


def _class_lines(study: optuna.Study) -> list[str]:
    """K classes: the per-class table of `status` (one-vs-rest AUC out of fold) in Markdown; [] for two classes."""
    rows = class_rows(study)
    if not rows:
        return []
    return ["", "### Per class (one-vs-rest AUC out of fold, each design's best trial)", "",
            "| " + " | ".join(CLASS_COLUMNS) + " |", "|" + "---|" * len(CLASS_COLUMNS),
            *("| " + " | ".join(class_cells(row)) + " |" for row in rows)]


def _unconfirmed(study: optuna.Study, comparison: Comparison) -> list[str]:
    units = confirmation_progress(study)
    if units is not None and units[0] < units[1]:
        return [f"**Confirming**: {units[0]} of {units[1]} trainings on fresh folds done; the verdict is written "
                "here when they end."]
    if comparison.failed_references:
        return ["**Not confirmed**: on the fresh folds every baseline diverged or ran out of memory twice on every "
                "fold, so there is no reference to test fusion against and no claim is made that fusion helped."]
    return ["**Not confirmed**: no confirmation of the current winners on fresh folds (`fusion-search confirm` "
            "runs it), so no claim is made that fusion helped."]


def _confirmed_table(study: optuna.Study, done: Confirmed) -> list[str]:
    designs = study.user_attrs.get("confirmation", {}).get("designs", {})
    held = any(design.get("holdout_auc") is not None for design in designs.values())
    lines = [f"### Confirmed on {done.repeats}x{done.folds} fresh folds", "",
             "| role | design | mean AUC | fresh-fold AUCs (from fold 0) |" + (" held-out AUC |" if held else ""),
             "|---|---|---|---|" + ("---|" if held else "")]
    for role, design in designs.items():
        aucs = " ".join("failed" if a is None else f"{a:.3f}" for a in design["aucs"])  # a unit that failed twice
        mean = "-" if design["mean_auc"] is None else f"{design['mean_auc']:.3f}"
        row = f"| {role} | {describe(design)} | **{mean}** | {aucs} |"
        if held:
            row += "" if design.get("holdout_auc") is None else f" {design['holdout_auc']:.3f}"
            row += " |"
        lines.append(row)
    for control in study.user_attrs.get("confirmation", {}).get(CONTROL, {}).values():
        aucs = " ".join("failed" if a is None else f"{a:.3f}" for a in control["aucs"])
        mean = "-" if control["mean_auc"] is None else f"{control['mean_auc']:.3f}"
        lines.append(f"| control: {control['modality']} shuffled | {describe(control)} | {mean} | {aucs} |"
                     + (" |" if held else ""))
    return lines


def _test_lines(done: Confirmed) -> list[str]:
    test = done.test
    if test is None or not math.isfinite(test.p):
        lines = ["**Corrected repeated k-fold t-test**: not defined (too few fold differences, or all equal)."]
    else:
        lines = [f"**Corrected repeated k-fold t-test** (Nadeau & Bengio), fusion candidate minus best baseline: "
                 f"mean difference **{test.mean:+.3f}**, better in {test.wins} of {test.n} folds, t = {test.t:.2f} "
                 f"with {test.n - 1} degrees of freedom (variance factor 1/{test.n} + 1/{done.folds - 1} = "
                 f"{test.variance_factor:.3f}), one-sided {p_text(test.p_greater)}, two-sided {p_text(test.p)}; "
                 f"{interval_text(test) or '95% CI undefined'}."]
        if math.isfinite(gain := detectable_gain(test, done.level)):
            lines += ["", f"**Smallest detectable gain**: {gain:+.3f} AUC (one-sided {level_text(done.level)}, 80% "
                          "power, with fold differences as spread as these); a smaller true gain could go unseen "
                          "here."]
    if done.looks:
        lines += ["", f"**Two looks**: {looks_in_words(done)}"]
    control = done.control_test
    if control is not None and math.isfinite(control.p):
        lines += ["", f"**Shuffled control** (the fusion candidate with its {done.control['modality']} shuffled among "
                      f"the rows), fusion candidate minus control: mean difference **{control.mean:+.3f}**, better in "
                      f"{control.wins} of {control.n} folds, one-sided {p_text(control.p_greater)}."]
    if done.holdout is not None:
        held = done.holdout
        lines += ["", f"**Held-out rows** ({held.rows}, seen by no trial): AUC {held.auc_a:.3f} against "
                      f"{held.auc_b:.3f}, {held.name} one-sided {p_text(held.p_greater)}."]
    return lines
