"""The two-look confirmation: with the default repeats, a first look that does not decide is followed by a second
on more fresh partitions, for the fusion candidate, the baseline the first look judged against and the shuffled
control only; the verdict then reads the second look at its own level."""

from __future__ import annotations

import optuna
import pytest

import fusion_search._api as api
from fusion_search.cli import main
from fusion_search.results import compare, sequential_levels
from fusion_search.study import _confirm
from tests.study.test_confirm import FOLDS, run_args


def fresh_units(storage: str, name: str) -> dict[tuple, int]:
    """(trial, repeat, shuffled) -> complete units of the fresh folds."""
    out: dict[tuple, int] = {}
    for t in optuna.load_study(study_name=f"{name}:confirm", storage=storage).get_trials(
            states=(optuna.trial.TrialState.COMPLETE,)):
        key = (t.user_attrs["trial"], t.user_attrs["repeat"], t.user_attrs.get("shuffled", ""))
        out[key] = out.get(key, 0) + 1
    return out


@pytest.fixture(scope="module")
def looked_twice(demo_manifest, tiny_space, tmp_path_factory):
    """A study run at the default repeats, where the second look is paid for (a large share) and always asked for
    (a rule that looks again against the first look's baseline, whatever it found): what it records."""
    storage = f"sqlite:///{tmp_path_factory.mktemp('looks') / 'study.db'}"
    asked = []

    def always_again(study):
        asked.append(dict(study.user_attrs["confirmation"]))
        return compare(study).confirmed.baseline_role

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_confirm, "SECOND_LOOK_SHARE", 50.0)
        patch.setattr(api, "second_look_baseline", always_again)
        assert main(run_args(demo_manifest, storage, tiny_space, "looks")) == 0
    return storage, optuna.load_study(study_name="looks", storage=storage), asked


def test_the_second_look_is_asked_after_the_first_look_s_summary_and_trains_only_the_compared_designs(looked_twice):
    storage, study, asked = looked_twice
    assert len(asked) == 1 and asked[0]["look"] == 1 and asked[0]["looks"] == [1, 3]
    summary = study.user_attrs["confirmation"]
    chosen = summary["second_look"]
    assert summary["look"] == 2 and chosen == compare_first_look_baseline(asked[0])
    compared = {int(n) for role in ("fusion", chosen) for n in summary["designs"][role]["members"]}
    shuffled = {(n, modality) for modality, entry in summary["control"].items() for n in entry["shuffled"]}
    units = fresh_units(storage, "looks")
    later = {key for key in units if key[1] >= 1}
    assert later == {(n, r, "") for n in compared for r in (1, 2)} | {(n, r, m) for n, m in shuffled for r in (1, 2)}
    assert all(count == FOLDS for count in units.values())  # every planned unit once


def compare_first_look_baseline(first: dict) -> str:
    """The best baseline role on the first look's fresh folds (what the verdict judged against there)."""
    from fusion_search.study import is_baseline_role

    scored = {role: d["mean_auc"] for role, d in first["designs"].items()
              if is_baseline_role(role) and d["mean_auc"] is not None}
    return max(scored, key=scored.get)


def test_the_second_look_s_verdict_compares_three_partitions_at_the_second_look_s_level(looked_twice):
    _, study, _ = looked_twice
    summary, done = study.user_attrs["confirmation"], compare(study).confirmed
    assert done.baseline_role == summary["second_look"] and done.look == 2 and done.repeats == 3
    assert done.test.n == 3 * FOLDS and done.control_test.n == 3 * FOLDS
    assert done.level == pytest.approx(sequential_levels(1, 3, FOLDS)[1])
    assert done.significant == (done.test.p_greater < done.level and done.test.mean > 0)
    others = [d for role, d in summary["designs"].items() if role not in ("fusion", summary["second_look"])
              and not set(d["members"]) <= set(summary["designs"]["fusion"]["members"])
              | set(summary["designs"][summary["second_look"]]["members"])]
    assert others and all(len(d["aucs"]) == FOLDS for d in others)  # the rest keep the first look's folds
    headline = compare(study).headline
    assert "3x3 fresh folds" in headline and f"second look's level {done.level:.4f}" in headline


def test_confirm_on_a_study_that_looked_twice_runs_nothing_again(looked_twice, demo_manifest):
    storage, study, _ = looked_twice
    before = fresh_units(storage, "looks")
    assert main(["confirm", "--study", "looks", "--data", str(demo_manifest), "--storage", storage, "--quiet"]) == 0
    assert fresh_units(storage, "looks") == before
    assert optuna.load_study(study_name="looks", storage=storage).user_attrs["confirmation"]["look"] == 2


def test_asked_repeats_confirm_in_one_look(demo_manifest, tiny_space, tmp_path, monkeypatch):
    """--confirm-repeats fixes R: one look at 5%, whatever share a second look could have."""
    monkeypatch.setattr(_confirm, "SECOND_LOOK_SHARE", 50.0)
    storage = f"sqlite:///{tmp_path / 'one.db'}"
    assert main(run_args(demo_manifest, storage, tiny_space, "one", "--confirm-repeats", "1")) == 0
    study = optuna.load_study(study_name="one", storage=storage)
    summary = study.user_attrs["confirmation"]
    assert "looks" not in summary and compare(study).confirmed.level == 0.05


def test_a_second_look_is_planned_only_where_its_share_of_the_search_pays_for_it(demo_manifest, tiny_space,
                                                                                 looked_twice):
    _, study, _ = looked_twice
    data = api.prepare_data(api.read_table(str(demo_manifest), None), FOLDS, 0, spec=api._spec(
        "image", "label", None, None, None, None, None, None))
    wanted = _confirm.roles(study)
    widest = max(len(m) for role, m in wanted.items() if _confirm.is_baseline_role(role))
    control = sum(map(len, _confirm.control_plan(study, wanted["fusion"]).values()))
    per_repeat = FOLDS * (len(wanted["fusion"]) + widest + control)
    trainings = _confirm.searched_trials(study) * FOLDS
    wanted = _confirm.plan(study, data, 1, FOLDS)
    assert _confirm.second_look_repeats(wanted, data) == min(2, int(0.5 * trainings // per_repeat))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_confirm, "SECOND_LOOK_SHARE", per_repeat / trainings)  # pays for exactly one more repeat
        assert _confirm.second_look_repeats(wanted, data) == 1
        patch.setattr(_confirm, "SECOND_LOOK_SHARE", 0.99 * per_repeat / trainings)
        assert _confirm.second_look_repeats(wanted, data) == 0


def test_the_confirmation_study_s_note_says_what_its_trials_are_and_links_back_to_the_verdict(looked_twice):
    """Before, `<study>:confirm` had no note: its "Best Trial" (one fold of one unit) read like a result."""
    from optuna_dashboard import get_note

    storage, study, _ = looked_twice
    companion = optuna.load_study(study_name="looks:confirm", storage=storage)
    note = get_note(companion)
    assert note.startswith("# Confirmation of study `looks`") and "one lucky fold, not a design's score" in note
    assert f"(/dashboard/studies/{study._study_id}/note)" in note
    planned = len(companion.user_attrs["plan"]["units"])
    assert f"Units: {planned} of {planned} complete." in note
    assert compare(study).headline in note
