"""The dashboard tells the story: the verdict as the study's note, the report's figures as its plots, a note on
every finished trial (a pruned one visibly pruned), and the exported model as a downloadable artifact.

One small real study for the whole module: the two baselines and two concat trials on the tiny demo data (3
folds), the last concat trial stopped by fold pruning after its first fold, the winners confirmed on fresh folds,
and the first concat trial exported with `fusion-search export --model`. Only the pruner's decision is scripted (which trial it
stops), so that a pruned trial is there every time; the rest is the search, confirmation and export users run.
"""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request

import optuna
import pytest
from optuna_dashboard import get_note

from fusion_search import search
from fusion_search.cli import main
from fusion_search.data import prepare_data
from fusion_search.designs import baseline_fusions
from fusion_search.results import compare, headline
from fusion_search.spaces import load_space
from fusion_search.study import RunSettings, open_or_create_study
from fusion_search.study import _study as study_module
from tests._browser import ARTIFACTS, render_until, screenshot
from tests.conftest import CONCAT_SEARCH, TINY_SPACE
from tests.results.test_dashboard import _wait_until_serving, free_port

CONCAT = len(baseline_fusions())  # trials 0.. are the baselines' defaults, then the two queued concat trials
PRUNED = CONCAT + 1  # the one the scripted pruner stops


class PruneOneTrial(optuna.pruners.BasePruner):
    """Stops trial PRUNED at its first should_prune() (after its first fold), and no other."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number == PRUNED


@pytest.fixture(scope="module")
def told(tmp_path_factory, demo_manifest):
    """(study, storage URL, exported model path, artifact folder)."""
    folder = tmp_path_factory.mktemp("told")
    space_path = folder / "concat.yaml"
    space_path.write_text(TINY_SPACE.split("search:")[0] + CONCAT_SEARCH)
    storage, trials = f"sqlite:///{folder / 'study.db'}", len(baseline_fusions()) + 2
    settings = RunSettings(study="told", storage=storage, trials=trials, seed=0)
    space = load_space(str(space_path))
    study = open_or_create_study(settings, prepare_data(demo_manifest, 3, 0, image_sizes=(16,)), space)
    for rate in (3e-3, 1e-3):
        study.enqueue_trial({"fusion": "concat", "lr_fusion": rate})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(study_module, "make_pruner", lambda p: PruneOneTrial())
        search(demo_manifest, space=space, trials=trials, study="told", storage=storage, folds=3, seed=0)
    model, artifacts = folder / "best.keras", folder / "artifacts"
    assert main(["export", "--study", "told", "--storage", storage, "--trial", str(CONCAT), "--model", str(model),
                 "--data", str(demo_manifest), "--artifact-dir", str(artifacts),
                 "--output", str(folder / "best.json")]) == 0
    return optuna.load_study(study_name="told", storage=storage), storage, model, artifacts


def answer(headline_text: str) -> str:
    """The verdict's first sentence, up to its colon: 'Fusion did not help on this data'."""
    return headline_text.partition(": ")[0]


def test_the_study_note_opens_with_the_verdict_and_lists_the_confirmed_designs(told):
    study = told[0]
    note = get_note(study)
    assert note.startswith(headline(compare(study)))
    confirmation = study.user_attrs["confirmation"]
    assert f"Confirmed on {confirmation['repeats']}x{confirmation['folds']} fresh folds" in note
    for role, design in confirmation["designs"].items():
        row = next(line for line in note.splitlines() if line.startswith(f"| {role} |"))
        assert f"{design['mean_auc']:.3f}" in row and " ".join(f"{a:.3f}" for a in design["aucs"]) in row
    test = compare(study).confirmed.test
    assert "Corrected repeated k-fold t-test" in note and f"t = {test.t:.2f}" in note
    low, high = test.interval(0.95)
    assert f"95% CI {low:+.3f} to {high:+.3f}" in note
    assert f"**Smallest detectable gain**: {test.detectable_gain(0.8, 0.05):+.3f} AUC" in note


def test_the_verdict_card_and_the_reports_three_figures_are_the_studys_user_defined_plots(told):
    study = told[0]
    attrs = study._storage.get_study_system_attrs(study._study_id)
    for graph_id in ("fusion-search-verdict", "fusion-search-confirmation", "fusion-search-by-fusion",
                     "fusion-search-roc"):
        assert any(key.startswith(f"dashboard:plot_data:{graph_id}:") for key in attrs), graph_id


def test_every_finished_trial_has_a_note_and_an_outcome(told):
    study = told[0]
    attrs = study._storage.get_study_system_attrs(study._study_id)
    for trial in study.get_trials(states=(optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)):
        assert attrs.get(f"dashboard:{trial._trial_id}:note_ver", 0) >= 1, trial.number
        assert trial.user_attrs["outcome"] == ("PRUNED early after 1 of 3 folds" if trial.number == PRUNED
                                               else "complete"), trial.number


def test_a_pruned_trial_ends_pruned_and_is_never_the_best_trial(told):
    """Before 2026-12 it ended COMPLETE with its running mean, and could show as the dashboard's Best Trial."""
    study = told[0]
    trial = study.trials[PRUNED]
    done = [a for a in trial.user_attrs["fold_aucs"] if a is not None]
    assert trial.state == optuna.trial.TrialState.PRUNED and len(done) == 1
    assert trial.user_attrs["partial_mean_auc"] == pytest.approx(done[0], abs=1e-6)
    assert study.best_trial.number != PRUNED and study.best_trial.user_attrs["folds_done"] == 3


def test_export_uploads_only_the_exported_model_as_a_study_artifact(told):
    study, _, model, artifacts = told
    system = study._storage.get_study_system_attrs(study._study_id)
    uploaded = [key for key in system if key.startswith("artifacts:")]
    assert len(uploaded) == 1
    assert not any(key.startswith("artifacts:") for t in study.trials for key in t.system_attrs)
    artifact_id = uploaded[0].split(":", 1)[1]
    assert (artifacts / artifact_id).read_bytes() == model.read_bytes()


@pytest.fixture(scope="module")
def dashboard(told):
    study, storage, _, artifacts = told
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fusion_search.cli", "dashboard", "--storage", storage,
                                "--port", str(port), "--artifact-dir", str(artifacts)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(f"{base}/api/meta", process)
        yield f"{base}/dashboard/studies/{study._study_id}", base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_study_page_shows_the_verdict_a_plot_and_the_model_to_download(told, dashboard):
    study, _, model, _ = told
    page_url, base = dashboard
    verdict = answer(headline(compare(study)))
    page = render_until(page_url, [verdict, "Confirmation on fresh folds", model.name])
    assert verdict in page.dom  # the verdict card, the first of the study's user-defined plots
    assert "Confirmation on fresh folds" in page.dom  # the report's figure, drawn by Plotly on the page
    assert model.name in page.dom
    link = re.search(rf'href="(/artifacts/{study._study_id}/[0-9a-f-]+)"', page.dom)
    assert link, "no download link for the exported model"
    with urllib.request.urlopen(base + link.group(1), timeout=10) as response:
        assert response.read() == model.read_bytes()
    assert page.errors == []
    screenshot(page_url, ARTIFACTS / "dashboard-verdict.png", size=(1280, 3700), budget_ms=10000)


def test_note_page_shows_the_whole_verdict(told, dashboard):
    study = told[0]
    page_url, _ = dashboard
    sentence = headline(compare(study))
    page = render_until(f"{page_url}/note", [sentence])
    assert sentence in page.dom
    assert "Corrected repeated k-fold t-test" in page.dom
    assert page.errors == []
    screenshot(f"{page_url}/note", ARTIFACTS / "dashboard-note.png", size=(1280, 900), budget_ms=10000)


def test_trial_page_marks_the_pruned_trial(dashboard):
    page_url, _ = dashboard
    url = f"{page_url}/trials?numbers={PRUNED}"
    page = render_until(url, ["PRUNED early", "Why pruned"])
    assert "PRUNED early after 1 of 3 folds" in page.dom
    assert "Why pruned" in page.dom
    assert page.errors == []
    screenshot(url, ARTIFACTS / "dashboard-pruned-trial.png", size=(1280, 1000), budget_ms=10000)


def test_the_confirmation_chart_has_a_short_legend_below_distinct_colours_and_folds_from_zero(told):
    from fusion_search.results._report import confirmation_figure, folds_figure

    comparison = compare(told[0])
    figure = confirmation_figure(comparison)
    fusion, baseline, control = figure.data
    assert figure.layout.legend.orientation == "h" and figure.layout.legend.y < 0  # below the plot
    assert fusion.line.color != baseline.line.color
    assert control.line.color == fusion.line.color and control.line.dash == "dot"  # the fusion candidate, shuffled
    assert list(control.y) == comparison.confirmed.control["aucs"] and "shuffled" in control.name
    assert all("None" not in trace.name and len(trace.name) < 60 for trace in figure.data)
    assert list(fusion.x) == list(range(len(comparison.confirmed.fusion["aucs"])))
    search_folds = folds_figure(comparison)
    assert search_folds is None or search_folds.data[0].x[0] == fusion.x[0] == 0


def test_a_study_still_searching_says_so_with_its_progress_and_an_unchanged_note_is_not_rewritten():
    from fusion_search.results import publish_to_dashboard

    study = optuna.create_study(study_name="searching", direction="maximize")
    for value in (0.7, 0.6):
        study.add_trial(optuna.trial.create_trial(value=value, user_attrs={"fusion": "image_only"}))
    assert publish_to_dashboard(study, trials=5) is True
    assert "**Still searching.**" in get_note(study) and "**2 of 5 trials finished**" in get_note(study)
    version = study._storage.get_study_system_attrs(study._study_id)["dashboard:note_ver"]
    assert publish_to_dashboard(study, trials=5) is False
    assert study._storage.get_study_system_attrs(study._study_id)["dashboard:note_ver"] == version
