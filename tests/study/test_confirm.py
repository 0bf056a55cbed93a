"""The confirmation on fresh folds, end to end on tiny data: every unit once, scores in the study, the export
and the headline; held-out rows no trial sees; `confirm` resumes; a changed space is refused on resume."""

from __future__ import annotations

import json
import threading
from collections import Counter

import numpy as np
import optuna
import pandas as pd
import pytest

from fusion_search.cli import main
from fusion_search.data import ManifestSpec, make_demo_dataset, prepare_data, read_manifest
from fusion_search.results import compare
from fusion_search.study import confirmation_setup, default_repeats, fresh_partition, oof_scores

TRIALS, FOLDS, REPEATS = 5, 3, 2


def run_args(manifest, storage: str, space, study: str, *extra: str) -> list[str]:
    return ["run", "--data", str(manifest), "--study", study, "--space", str(space), "--trials", str(TRIALS),
            "--folds", str(FOLDS), "--storage", storage, "--quiet", "--prune-p", "0", *extra]


@pytest.fixture(scope="module")
def confirmed(demo_manifest, tiny_space, tmp_path_factory):
    """A study of 5 trials with 20% of the rows held out, confirmed on 2 fresh partitions."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('confirm') / 'study.db'}"
    assert main(run_args(demo_manifest, storage, tiny_space, "held", "--holdout", "0.25",
                         "--confirm-repeats", str(REPEATS))) == 0
    return storage, optuna.load_study(study_name="held", storage=storage)


def units(storage: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=f"{name}:confirm", storage=storage).trials


def test_every_unit_ran_once_and_completed(confirmed):
    storage, study = confirmed
    done = units(storage, "held")
    designs = study.user_attrs["confirmation"]["designs"]
    assert {"fusion", "image_only", "numeric_only", "gbdt_only"} <= set(designs)  # and any single-modality ensemble
    members = {int(n) for design in designs.values() for n in design["members"]}
    controls = study.user_attrs["confirmation"]["control"]
    fusion_members = {int(n) for n in designs["fusion"]["members"]}
    for modality, control in controls.items():  # each control retrains the fusion candidate's members that read it
        assert control["modality"] == modality and set(control["shuffled"]) <= fusion_members
        blind = {"table": {"image_only"}, "image": {"numeric_only", "gbdt_only"}}[modality]  # do not read it
        assert {n for n in fusion_members if study.trials[n].user_attrs["fusion"] not in blind} == \
            set(control["shuffled"])
    assert set(controls) == {"table", "image"} and all(control["shuffled"] for control in controls.values())
    # each member trial once per fresh fold, + held out; each control's shuffled members again on every fresh fold
    shuffled = sum(len(control["shuffled"]) for control in controls.values())
    assert len(done) == len(members) * (REPEATS * FOLDS + 1) + shuffled * REPEATS * FOLDS
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in done)
    keys = Counter((t.user_attrs["trial"], t.user_attrs["repeat"], t.user_attrs["fold"], t.user_attrs.get("shuffled"))
                   for t in done)
    assert set(keys.values()) == {1}


def test_the_study_holds_the_confirmation_scores_of_the_chosen_trials(confirmed):
    storage, study = confirmed
    summary = study.user_attrs["confirmation"]
    assert (summary["repeats"], summary["folds"]) == (REPEATS, FOLDS)
    by_trial, shuffled = {}, {}
    for unit in units(storage, "held"):
        if unit.user_attrs["fold"] >= 0:
            if unit.user_attrs.get("shuffled"):
                shuffled.setdefault(unit.user_attrs["trial"], []).append(
                    (unit.user_attrs["shuffled"], unit.user_attrs["repeat"], unit.user_attrs["fold"], unit.value))
            else:
                by_trial.setdefault(unit.user_attrs["trial"], []).append(
                    (unit.user_attrs["repeat"], unit.user_attrs["fold"], unit.value))
    for modality, control in summary["control"].items():
        if control["trial"] is not None:  # a single fusion trial: the control's AUCs are its shuffled units'
            assert control["aucs"] == [round(v, 6) for m, *_, v in sorted(shuffled[control["trial"]]) if m == modality]
            assert control["aucs"] != summary["designs"]["fusion"]["aucs"]
    for role, design in summary["designs"].items():
        assert design["mean_auc"] == pytest.approx(np.mean(design["aucs"]), abs=1e-6)
        assert 0 <= design["holdout_auc"] <= 1 and len(design["aucs"]) == REPEATS * FOLDS
        if design["trial"] is not None:  # one trial: its units' AUCs, fold by fold
            assert design["aucs"] == [round(v, 6) for *_, v in sorted(by_trial[design["trial"]])]
            assert study.trials[design["trial"]].user_attrs["fusion"] == design["fusion"]
    best_fusion = compare(study).fusion.number
    assert summary["designs"]["fusion"]["trial"] in (best_fusion, None)  # the best fusion design, or an ensemble


def test_no_trial_of_the_search_saw_the_held_out_rows(confirmed, demo_manifest):
    _, study = confirmed
    rows = read_manifest(demo_manifest).rows
    held = study.user_attrs["holdout_rows"]
    assert held == pytest.approx(0.25 * rows, abs=2)
    for trial in study.trials:
        scores = oof_scores(trial)
        assert np.isnan(scores).sum() == held  # scored by no fold
    assert study.user_attrs["data_rows"] == rows


def test_the_headline_and_the_export_follow_the_confirmation(confirmed, tmp_path, capsys):
    storage, study = confirmed
    comparison = compare(study)
    assert comparison.confirmed is not None and comparison.confirmed.holdout.rows == study.user_attrs["holdout_rows"]
    assert f"{REPEATS}x{FOLDS} fresh folds" in comparison.headline and "held-out rows" in comparison.headline
    output = tmp_path / "best.json"
    assert main(["export", "--study", "held", "--storage", storage, "--output", str(output)]) == 0
    record = json.loads(output.read_text())
    assert record["confirmation"] == study.user_attrs["confirmation"] and record["verdict"] == comparison.headline
    low, high = comparison.confirmed.test.interval(0.95)  # the fresh-fold gain's interval, whatever the outcome
    assert f"95% CI {low:+.3f} to {high:+.3f}" in comparison.headline and low < comparison.confirmed.test.mean < high
    assert record["evidence"]["interval_95"] == [round(low, 6), round(high, 6)]
    if not comparison.helped:  # what this study could have missed, in the headline and the record alike
        gain = record["evidence"]["detectable_gain_80"]
        assert gain > 0 and f"a true gain of {gain:+.3f} AUC or more" in comparison.headline
    assert set(record["tuned_trials"]) >= {"image_only", "numeric_only", "gbdt_only"}


@pytest.mark.parametrize("flags", [[], ["--repeats", str(REPEATS)]], ids=["as planned", "the same repeats"])
def test_confirm_on_a_confirmed_study_runs_nothing_again(confirmed, demo_manifest, capsys, flags):
    storage, study = confirmed
    before = [(t.number, t.datetime_complete) for t in units(storage, "held")]
    assert main(["confirm", "--study", "held", "--data", str(demo_manifest), "--storage", storage, "--quiet",
                 *flags]) == 0
    assert [(t.number, t.datetime_complete) for t in units(storage, "held")] == before
    headline = compare(optuna.load_study(study_name="held", storage=storage)).headline
    assert headline in " ".join(capsys.readouterr().out.split())  # the terminal wraps it


@pytest.mark.parametrize("flags", [["--repeats", str(REPEATS + 1)], ["--folds", "2"]])
def test_asking_a_confirmed_study_for_other_repeats_or_folds_is_refused_and_keeps_its_units(
        confirmed, demo_manifest, capsys, flags):
    storage, _ = confirmed
    before = [(t.number, t.datetime_complete) for t in units(storage, "held")]
    assert main(["confirm", "--study", "held", "--data", str(demo_manifest), "--storage", storage, "--quiet",
                 *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"already confirmed (or being confirmed) on {REPEATS}x{FOLDS}" in err
    assert [(t.number, t.datetime_complete) for t in units(storage, "held")] == before


@pytest.mark.parametrize("flag, value", [("--confirm-folds", "1"), ("--confirm-repeats", "-1")])
def test_nonsense_confirmation_flags_are_refused_before_any_study_exists(demo_manifest, tiny_space, tmp_path, capsys,
                                                                         flag, value):
    database = tmp_path / "never.db"
    assert main(run_args(demo_manifest, f"sqlite:///{database}", tiny_space, "never", flag, value)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "confirmation" in err and value in err
    assert not database.exists()


def test_a_study_run_without_confirmation_is_confirmed_by_the_confirm_command(demo_manifest, tiny_space, tmp_path):
    storage = f"sqlite:///{tmp_path / 'later.db'}"
    assert main(run_args(demo_manifest, storage, tiny_space, "later", "--confirm-repeats", "0")) == 0
    study = optuna.load_study(study_name="later", storage=storage)
    assert "confirmation" not in study.user_attrs and compare(study).headline.startswith(
        ("Not confirmed yet", "Fusion did not help in the search"))
    assert main(["confirm", "--study", "later", "--data", str(demo_manifest), "--storage", storage, "--quiet",
                 "--repeats", "1"]) == 0
    summary = optuna.load_study(study_name="later", storage=storage).user_attrs["confirmation"]
    assert summary["repeats"] == 1 and all(len(d["aucs"]) == FOLDS for d in summary["designs"].values())


def test_confirm_refuses_other_data(demo_manifest, confirmed, tmp_path, capsys):
    storage, _ = confirmed
    rows = demo_manifest.read_text().splitlines()
    other = tmp_path / "other.csv"
    other.write_text("\n".join(rows[:-1]) + "\n")  # one row fewer
    for image in (demo_manifest.parent / "images").iterdir():
        (tmp_path / "images").mkdir(exist_ok=True)
        (tmp_path / "images" / image.name).write_bytes(image.read_bytes())
    assert main(["confirm", "--study", "held", "--data", str(other), "--storage", storage, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not the data study 'held' was searched on" in err and len(err.splitlines()) == 1


def test_resuming_with_a_changed_fixed_value_is_refused_and_writes_nothing(confirmed, demo_manifest, tiny_space,
                                                                           tmp_path, capsys):
    storage, study = confirmed
    changed = tmp_path / "changed.yaml"
    changed.write_text(tiny_space.read_text().replace("epochs: 3", "epochs: 4"))
    (tmp_path / "tiny.yaml").write_text(changed.read_text())  # the same space name, a different fixed value
    before = (len(study.trials), dict(study.user_attrs))
    args = run_args(demo_manifest, storage, tmp_path / "tiny.yaml", "held", "--holdout", "0.25")
    args[args.index("--trials") + 1] = str(TRIALS + 2)
    assert main(args) == 2
    *said, error = capsys.readouterr().err.strip().splitlines()  # the held-out share is said before the check
    assert "different space: fixed.epochs was 3, this run has 4" in error
    assert all(line.startswith("holding out ") for line in said)
    after = optuna.load_study(study_name="held", storage=storage)
    assert (len(after.trials), dict(after.user_attrs)) == before


def unconfirmed_study() -> optuna.Study:
    """A study with no confirmation planned: confirmation_setup chooses the fresh folds from the rows alone."""
    return optuna.create_study(direction="maximize")


@pytest.mark.parametrize("rows, k, expected", [(60, 3, 3), (400, 5, 10)])
def test_fresh_partitions_have_ten_folds_where_each_keeps_ten_rows_of_each_class(tmp_path, rows, k, expected):
    """60 rows cannot give 10 folds with 10 positives and 10 negatives each: the study's k then."""
    data = prepare_data(make_demo_dataset(tmp_path, rows=rows, seed=2), k, 0, caches=False)
    assert confirmation_setup(unconfirmed_study(), data, repeats=1) == (1, expected)
    assert confirmation_setup(unconfirmed_study(), data, repeats=1, folds=2) == (1, 2)  # asked for fewer: as asked


def test_grouped_rows_that_leave_a_fold_few_rows_of_a_class_fall_back_to_the_study_s_k(tmp_path):
    """Positives in 10 patients of 5 rows and one of the rest: 10 grouped folds exist, both classes in each, but
    with 5 positives in most (fewer than 10): the study's 3 folds then, for every repeat, groups kept whole."""
    manifest = make_demo_dataset(tmp_path, rows=400, seed=2)
    table = pd.read_csv(manifest)
    positives, negatives = np.flatnonzero(table["label"] == 1), np.flatnonzero(table["label"] == 0)
    patient = np.empty(len(table), dtype=object)
    patient[negatives] = [f"n{i // 2}" for i in range(len(negatives))]
    patient[positives] = [f"p{i // 5}" if i < 50 else "p-big" for i in range(len(positives))]
    table.assign(patient=patient).to_csv(manifest, index=False)
    data = prepare_data(manifest, 3, 0, caches=False, spec=ManifestSpec(group_column="patient"))
    labels, groups = data.manifest.labels, data.manifest.groups
    assert np.bincount(labels).min() >= 10 * 10  # the class totals alone would allow 10 folds
    ten = fresh_partition(data, 10, 0)
    assert all(set(labels[ten == f]) == {0, 1} for f in range(10))  # 10 folds exist...
    assert min(np.sum(labels[ten == f]) for f in range(10)) < 10  # ...with too few positives in some
    assert confirmation_setup(unconfirmed_study(), data, repeats=4) == (4, 3)
    for repeat in range(4):
        folds = fresh_partition(data, 3, repeat)
        assert all(set(labels[folds == f]) == {0, 1} for f in range(3))
        assert all(len(set(folds[groups == g])) == 1 for g in set(groups))


def test_the_default_repeats_cost_about_a_fifth_of_the_search():
    assert default_repeats(16, 4, 5, 10) == 1  # 0.2 x 16 x 5 / (4 x 10) = 0.4: never fewer than one
    assert default_repeats(200, 4, 5, 10) == 5
    assert default_repeats(200, 4, 5, 5) == 10


def _give_way(trial) -> bool:
    from fusion_search.study._confirm import DuplicateUnit, start_unit

    try:
        start_unit(trial)
    except DuplicateUnit:
        return True
    return False


def test_a_unit_queued_twice_is_trained_by_the_copy_started_first_whatever_its_number(tmp_path):
    """Before, only a higher-numbered copy gave way: a lower-numbered copy started while a higher-numbered one ran
    trained too, and both completed."""
    companion = optuna.create_study(storage=f"sqlite:///{tmp_path / 'c.db'}", direction="maximize")
    unit = {"trial": 3, "repeat": 0, "fold": 1}
    for queued in (unit, unit, {**unit, "fold": 2}):
        companion.enqueue_trial({}, user_attrs=queued)
    waiting = companion.get_trials(states=(optuna.trial.TrialState.WAITING,))
    companion._storage.set_trial_state_values(waiting[1]._trial_id, optuna.trial.TrialState.RUNNING)
    later_copy = optuna.Trial(companion, waiting[1]._trial_id)  # the higher-numbered copy starts first
    assert not _give_way(later_copy)
    lower, other = companion.ask(), companion.ask()  # then the lower-numbered copy, and another unit
    assert lower.number < later_copy.number and _give_way(lower) and not _give_way(other)
    companion.tell(later_copy, 0.7)
    assert _give_way(lower)  # a complete copy keeps the unit too


def test_a_full_companion_that_misses_a_unit_queues_it_again_and_runs_it(tmp_path):
    """Two copies of unit a completed and unit b's only trial failed: the companion holds as many finished trials
    as units, yet b has none. Before, the worker found the companion full and b never ran."""
    from fusion_search.study._confirm import run_units, start_unit, unit_key

    companion = optuna.create_study(storage=f"sqlite:///{tmp_path / 'c.db'}", direction="maximize")
    a, b = {"trial": 1, "repeat": 0, "fold": 0}, {"trial": 1, "repeat": 0, "fold": 1}
    for unit, state in ((a, "COMPLETE"), (a, "COMPLETE"), (b, "FAIL")):
        companion.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState[state], user_attrs=unit,
                                                      value=0.6 if state == "COMPLETE" else None))
    run_units(companion, lambda trial: start_unit(trial) or 0.5, [a, b], heartbeat=1)
    complete = companion.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(unit_key(t.user_attrs) for t in complete) == sorted([unit_key(a)] * 2 + [unit_key(b)])
    assert not companion.get_trials(states=(optuna.trial.TrialState.WAITING,))


def test_two_copies_started_at_once_by_two_workers_train_the_unit_once(tmp_path):
    """Unit c is done, unit b failed, and two workers re-queued unit a at once: both copies of a run side by side
    (the companion has slots for three units), and only one of them trains."""
    from fusion_search.study._confirm import run_units, start_unit, unit_key

    url = f"sqlite:///{tmp_path / 'c.db'}"
    companion = optuna.create_study(study_name="c", storage=url, direction="maximize")
    a, b, c = ({"trial": 1, "repeat": 0, "fold": fold} for fold in range(3))
    companion.add_trial(optuna.trial.create_trial(value=0.6, user_attrs=c))
    companion.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL, user_attrs=b))
    for _ in range(2):
        companion.enqueue_trial({}, user_attrs=a)
    both_running, trained = threading.Barrier(2, timeout=30), []

    def objective(trial):
        if unit_key(trial.user_attrs) == unit_key(a):
            both_running.wait()  # each worker holds one copy of a, RUNNING, before either checks
        start_unit(trial)
        trained.append(unit_key(trial.user_attrs))
        return 0.5

    def worker():
        run_units(optuna.load_study(study_name="c", storage=url), objective, [a, b, c], heartbeat=1)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(trained) == sorted([unit_key(a), unit_key(b)])  # a once: its other copy gave way, untrained
    complete = [unit_key(t.user_attrs) for t in companion.get_trials(states=(optuna.trial.TrialState.COMPLETE,))]
    assert sorted(complete) == sorted(map(unit_key, (a, b, c)))
    assert not companion.get_trials(states=(optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING))


def test_the_roc_plot_says_its_curves_are_the_search_s_best_trials_and_names_what_the_verdict_compared(confirmed):
    """Before, 'add (trial 7, OOF AUC 0.796)' against 'image_only (trial 8, 0.730)' under 'Out-of-fold ROC curves'
    read like a fusion win where the confirmed candidates tied on fresh folds."""
    from fusion_search.results._confirmation import describe
    from fusion_search.results._report import roc_section

    _, study = confirmed
    comparison = compare(study)
    figure, note = roc_section(study, comparison)
    assert figure.layout.title.text.startswith("Search folds:") and "not the confirmation" in figure.layout.title.text
    names = [trace.name for trace in figure.data]
    assert any("search's best fusion design" in name for name in names)
    assert any("search's best baseline" in name for name in names)
    done = comparison.confirmed
    assert "A gap between these curves is not the verdict" in note
    assert f"fusion candidate ({describe(done.fusion)}" in note and f"({describe(done.baseline)}" in note
