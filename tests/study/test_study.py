"""Creating and joining a study: the heartbeat interval is the study's, a run that fails before any trial ended
leaves no study behind, and `auto` picks the space the study was made with, else the one for this machine."""

from __future__ import annotations

import optuna
import pytest

from fusion_search import UserError
from fusion_search.data import prepare_data
from fusion_search.spaces import load_space
from fusion_search.study import (FIRST_TRIES_ATTR, FIRST_TRY, RunSettings, baseline_quota, chosen_space, first_try_budget,
                                 open_or_create_study, run_search, study_heartbeat)


@pytest.fixture
def setup(tmp_path, demo_manifest, tiny_space):
    return f"sqlite:///{tmp_path / 's.db'}", prepare_data(demo_manifest, 3, 0, image_sizes=(16,)), load_space(
        str(tiny_space))


def test_a_new_study_queues_each_familys_first_try_after_the_baselines_as_the_budget_allows(setup, capsys):
    """quick lists its first tries best first; a study queues at most half its fusion trials' worth of them, and
    says which families got none."""
    storage, data, _ = setup
    quick = load_space("quick")
    assert len(quick.first_tries) >= 3
    small = open_or_create_study(RunSettings(study="small", storage=storage, trials=8), data, quick)
    queued = small.get_trials(states=(optuna.trial.TrialState.WAITING,))
    roles = [t.user_attrs["role"] for t in queued]
    budget = first_try_budget(8, baseline_quota(8))
    assert roles == ["baseline"] * 3 + [FIRST_TRY] * budget and budget == 3  # 8 trials: 3 baselines, 5 for fusion
    fusions = [t.system_attrs["fixed_params"]["fusion"] for t in queued[3:]]
    assert fusions == [entry["fusion"] for entry in quick.first_tries[:budget]]
    record = small.user_attrs[FIRST_TRIES_ATTR]
    assert len(record["tried"]) == budget and len(record["not_tried"]) == len(quick.first_tries) - budget
    assert f"no first try for {', '.join(record['not_tried'])}" in capsys.readouterr().err
    large = open_or_create_study(RunSettings(study="large", storage=storage, trials=40), data, quick)
    assert large.user_attrs[FIRST_TRIES_ATTR]["not_tried"] == []


def test_the_heartbeat_interval_is_the_studys_and_a_worker_asking_for_another_is_refused(setup):
    storage, data, space = setup
    study = open_or_create_study(RunSettings(study="s", storage=storage, heartbeat=5), data, space)
    assert study_heartbeat(study) == 5
    joined = open_or_create_study(RunSettings(study="s", storage=storage, create=False), data, space)
    assert study_heartbeat(joined) == 5  # a worker that does not ask takes the study's
    with pytest.raises(UserError) as refused:
        open_or_create_study(RunSettings(study="s", storage=storage, create=False, heartbeat=30), data, space)
    assert str(refused.value) == ("study 's' beats every 5 s and its workers judge stale trials by that; this worker "
                                  "asks for --heartbeat 30: leave the flag out, or give 5")
    fresh = open_or_create_study(RunSettings(study="fresh", storage=storage), data, space)
    assert study_heartbeat(fresh) == 30  # the default, stored


def test_a_run_that_fails_before_any_trial_ended_leaves_no_study(setup, monkeypatch):
    storage, data, space = setup

    def cannot_train(*args, **kwargs):
        raise UserError("this trial cannot train here")

    monkeypatch.setattr("fusion_search.study._objective.train_fold", cannot_train)
    with pytest.raises(UserError, match="cannot train here"):
        run_search(RunSettings(study="half", storage=storage, trials=4), data, space)
    assert "half" not in [s.study_name for s in optuna.get_all_study_summaries(storage)]


def test_auto_is_the_space_the_study_was_made_with_else_the_machines(setup, capsys):
    storage, data, space = setup
    made = open_or_create_study(RunSettings(study="q", storage=storage), data, load_space("quick"))
    assert chosen_space("auto", made.study_name, storage).name == "quick"
    assert "space auto: quick (the space study 'q' was made with)" in capsys.readouterr().err
    assert chosen_space("auto", "new", storage).name == "balanced"  # the tests train on a CPU
    assert "space auto: balanced (this machine trains on a CPU)" in capsys.readouterr().err
    assert chosen_space("quick").name == "quick" and chosen_space(space) is space


def test_a_study_resumes_with_the_ranges_it_stored_after_its_shipped_space_changed(setup, capsys):
    """A study made with an older quick.yaml (here: trees searched from 4 leaves, and another first lr) resumes,
    by name or by auto, with the space it stored, not the shipped file's new ranges (which it would refuse)."""
    storage, data, _ = setup
    older = load_space("quick").record()
    older["search"]["gbdt_max_leaf_nodes"]["low"] = 4
    older["defaults"]["lr_numeric"] = 0.003
    made = open_or_create_study(RunSettings(study="old", storage=storage), data, load_space("quick"))
    made.set_user_attr("space_resolved", older)
    for asked in ("quick", "auto"):
        resumed = chosen_space(asked, "old", storage)
        assert resumed.name == "quick" and resumed.record() == older
        assert "space quick: as study 'old' stored it (the shipped quick has changed" in capsys.readouterr().err
    again = open_or_create_study(RunSettings(study="old", storage=storage), data, chosen_space("quick", "old", storage))
    assert again.user_attrs["space_resolved"] == older  # resumed, not refused
    assert chosen_space("quick", "other", storage).record() == load_space("quick").record()


def test_the_run_says_the_holdout_share_it_obtained(demo_manifest, capsys):
    from fusion_search.study._preflight import say_holdout

    say_holdout(prepare_data(demo_manifest, 3, 0, holdout=0.25))
    assert capsys.readouterr().err.strip() == "holding out 15 of 60 rows (25.0%; asked 25.0%): no trial sees them"
