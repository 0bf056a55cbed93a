"""Notes on the dashboard, written as the search goes: each finished trial's, and the study's progress.

optuna-dashboard shows a trial's note (Markdown) at the top of its page, and the study's note on its Note tab.
A trial's note says what the design is, how it scored, and why it was pruned, skipped or flagged: a trial that
fold pruning stopped stays COMPLETE with its running mean (what the sampler learns from), so its note is where
a reader sees that it was stopped. The study's note says the search is still going until the confirmation
writes the verdict there (``fusion_search.results.publish_to_dashboard``).
"""

from __future__ import annotations

import sys

import optuna
from optuna_dashboard import get_note, save_note

from fusion_search._errors import UserError
from fusion_search.designs import get_kind

FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
FLAG = "below_chance"  # trial user attr of the below-chance guard (study._chance.BELOW_CHANCE): its sentence


def outcome(attrs: dict) -> str:
    """One phrase for the trial attr ``outcome``: complete, pruned early, skipped, diverged, below chance."""
    if attrs.get("skipped"):
        return "skipped (not trained)"
    if attrs.get("diverged"):
        return "diverged (not scored)"
    if attrs.get("pruned"):
        return f"PRUNED early after {attrs.get('folds_done', '?')} of {len(attrs.get('fold_aucs', []))} folds"
    return "complete, flagged below chance" if attrs.get(FLAG) else "complete"


def trial_note(number: int, params: dict, attrs: dict, value: float | None) -> str:
    """The trial's note in Markdown: a headline with its outcome, the design in words, its scores, and why."""
    fusion = attrs.get("fusion", params.get("fusion", "?"))
    lines = [f"### Trial {number}: {fusion} ({outcome(attrs)})", "", design_in_words(fusion, params), ""]
    if attrs.get("skipped") or attrs.get("diverged"):
        return "\n".join(lines + [f"**Why**: {attrs.get('skipped') or attrs.get('diverged')}. It has no AUC; it "
                                  "ends PRUNED so that the sampler steers away from such designs."])
    aucs = attrs.get("fold_aucs", [])
    lines += ["| fold | " + " | ".join(str(f) for f in range(len(aucs))) + " |",
              "|---" * (len(aucs) + 1) + "|",
              "| AUC | " + " | ".join("–" if a is None else f"{a:.3f}" for a in aucs) + " |", ""]
    scores = [f"mean AUC **{value:.3f}**" if value is not None else "no mean AUC"]
    if "std_auc" in attrs:
        scores.append(f"std {attrs['std_auc']:.3f}")
    if "oof_auc" in attrs:
        scores.append(f"out-of-fold AUC {attrs['oof_auc']:.3f}")
    if attrs.get("delta_vs_best_baseline") is not None:
        scores.append(f"**{attrs['delta_vs_best_baseline']:+.3f}** against the best baseline when it finished")
    lines.append(", ".join(scores) + ".")
    lines += _why(attrs)
    return "\n".join(lines)


def _why(attrs: dict) -> list[str]:
    if attrs.get("pruned"):
        return ["", f"**Why pruned**: after {attrs.get('folds_done', '?')} fold(s) a one-sided Wilcoxon test over the "
                "folds done said it is worse than the best trial on the same folds, so its other folds were not "
                "trained. Its value is the running mean over those folds (what the sampler learns from); it is "
                "left out of the verdict, the report's plots and the confirmation."]
    if attrs.get(FLAG):
        return ["", f"**Flagged**: {attrs[FLAG]}. It joins no ensemble."]
    return []


def design_in_words(fusion: str, params: dict) -> str:
    """'**concat**: <what the design does>. Searched: image_units 8, lr_fusion 0.0032.'"""
    try:
        summary = get_kind(fusion).summary
    except UserError:  # a design no longer registered: its name and parameters still say what it was
        summary = "design no longer registered"
    chosen = ", ".join(f"{name} {_value(v)}" for name, v in params.items() if name != "fusion")
    return f"**{fusion}**: {summary}." + (f" Searched: {chosen}." if chosen else "")


def _value(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def note_trial(trial: optuna.Trial, value: float | None) -> None:
    """Write the running trial's note and its ``outcome`` attr (a pruned trial is marked where the user looks)."""
    attrs = trial.user_attrs
    trial.set_user_attr("outcome", outcome(attrs))
    save_note(trial, trial_note(trial.number, trial.params, attrs, value))


def note_progress(study: optuna.Study, trials: int | None, ending: dict | None = None) -> None:
    """The study's note while it searches: how far it is, and that the verdict comes after the confirmation.
    ``ending``: the attrs of the caller's own trial, which ends now but is not recorded as finished yet."""
    save_note_if_changed(study, progress_note(study, trials, ending))


def progress_note(study: optuna.Study, trials: int | None, ending: dict | None = None) -> str:
    done = [t.user_attrs for t in study.get_trials(deepcopy=False, states=FINISHED)] + ([ending] if ending else [])
    finished, stopped = len(done), sum(bool(attrs.get("pruned")) for attrs in done)
    of = f" of {trials}" if trials else ""
    if trials and finished >= trials:
        where = ("The search is finished; its winners are being confirmed on fresh folds. The verdict is written "
                 "here when the confirmation ends.")
    else:
        where = ("**Still searching.** The verdict (does fusion beat the best single modality?) is written here "
                 "when the search has finished and its winners are confirmed on fresh folds.")
    return "\n".join([f"## Study {study.study_name}", "", where, "",
                      f"Progress: **{finished}{of} trials finished** ({stopped} pruned early)."])


def save_note_if_changed(study_or_trial: optuna.Study | optuna.Trial, body: str) -> bool:
    """save_note, unless the note already says this (every save is a new version in the dashboard)."""
    if get_note(study_or_trial) == body:
        return False
    save_note(study_or_trial, body)
    return True


def write_notes(trial: optuna.Trial, value: float | None, trials: int | None) -> None:
    """The finishing trial's note and the study's progress note. A note that cannot be written is reported and
    skipped: the trial's result matters more than its note."""
    try:
        note_trial(trial, value)
        note_progress(trial.study, trials, trial.user_attrs)
    except Exception as error:  # noqa: BLE001 (storage outages are waited out underneath; this is anything else)
        print(f"trial {trial.number}: dashboard note not written ({type(error).__name__}: {error})",
              file=sys.stderr, flush=True)
