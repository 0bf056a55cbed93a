"""The leaderboard as rows (numbers as numbers), as the `status` table (fits 120 columns: the fold AUCs wrap in
their own column) and as HTML; a design whose every trial was pruned says it has 0 complete trials; the verdict
prints short."""

from __future__ import annotations

import io

import optuna
from rich.console import Console

from fusion_search.results import compare, leaderboard_html, leaderboard_rows, print_status
from tests.results.test_verdict import AHEAD, STEADY, confirmed_study

FUSIONS = optuna.distributions.CategoricalDistribution(["image_only", "numeric_only", "concat", "late"])


def with_only_pruned_late(study: optuna.Study) -> optuna.Study:
    """A late-fusion trial that fold pruning stopped after 2 of 10 folds (pruned trials complete with their running
    mean and the attr pruned)."""
    study.add_trial(optuna.trial.create_trial(
        params={"fusion": "late"}, distributions={"fusion": FUSIONS}, value=0.61,
        user_attrs={"fusion": "late", "pruned": True, "folds_done": 2, "oof_auc": 0.6, "std_auc": 0.01,
                    "fold_aucs": [0.6, 0.62] + [None] * 8}))
    return study


def test_rows_hold_each_designs_best_trial_with_numbers_as_numbers():
    rows = {row["design"]: row for row in leaderboard_rows(confirmed_study(AHEAD, STEADY, [0.6] * 10))}
    assert set(rows) == {"concat", "image_only (baseline)", "numeric_only (baseline)"}
    concat = rows["concat"]
    assert (concat["best_trial"], concat["complete_trials"], concat["mean_auc"]) == (2, 1, 0.77)
    assert concat["delta_baseline"] == 0.07 and concat["fold_aucs"] == [0.75, 0.79, 0.77, 0.76, 0.78]
    assert abs(concat["fresh_folds"] - 0.7486) < 1e-3


def test_a_design_with_only_pruned_trials_says_it_has_none_complete():
    study = with_only_pruned_late(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    late = next(row for row in leaderboard_rows(study) if row["design"] == "late (pruned)")
    assert late["complete_trials"] == 0 and late["folds_done"] == 2
    out = io.StringIO()
    print_status(study, Console(file=out, width=120))
    assert "0 complete" in out.getvalue() and "2/10 folds" in out.getvalue()


def test_the_status_table_fits_120_columns_and_wraps_the_fold_aucs_in_their_own_column():
    study = with_only_pruned_late(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    out = io.StringIO()
    print_status(study, Console(file=out, width=120))
    lines = out.getvalue().splitlines()
    assert max(map(len, lines)) <= 120
    assert any("0.60 0.62" in line for line in lines)  # the pruned row's fold AUCs begin on its own line


def test_html_holds_the_state_the_table_and_the_headline():
    study = confirmed_study(AHEAD, STEADY, [0.6] * 10)
    page = leaderboard_html(study)
    assert page.count("<tr>") == 1 + 3 and "3 complete" in page
    assert compare(study).headline.split(":")[0] in page


def test_the_verdict_prints_in_one_short_line():
    verdict = compare(confirmed_study(AHEAD, STEADY, [0.6] * 10))
    assert repr(verdict) == "<Comparison concat (trial 2) against image_only (trial 0): Fusion helped on this data>"
    assert verdict._repr_html_().startswith("<p>Fusion helped on this data: ")
