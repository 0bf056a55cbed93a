"""The confirmation's evidence: the best fusion design against the best baseline on fresh folds (corrected
repeated k-fold t-test), against itself with the modality the baseline lacks shuffled (the same test: the real
input must beat a shuffled copy of it in this design, _control.py), and, with held-out rows, once on rows no trial saw (DeLong's test,
one-sided; for K >= 3 classes, or rows grouped by --group-column, a paired bootstrap of the AUC that resamples
whole groups)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import optuna

from fusion_search.results._statistics import (AucDifferenceTest, CorrectedTTest, corrected_ttest, delong_test,
                                               paired_bootstrap_test, sequential_levels)
from fusion_search.study import CONTROL, FUSION_DESIGN, holdout_scores, is_baseline_role, missing_modality, searched_trials

LEVEL = 0.05
POWER = 0.80  # the power at which the verdict names the smallest gain the study would have detected


@dataclass(frozen=True)
class Confirmed:
    """Confirmation scores of the best fusion design and of the best baseline on the same fresh folds."""

    fusion: dict  # {"trial" (None for an ensemble), "members", "fusion" (its name), "aucs", "mean_auc", "holdout_auc"}
    baseline: dict  # the baseline (or single-modality ensemble) with the best confirmation mean
    repeats: int
    folds: int
    test: CorrectedTTest | None  # None when the differences cannot be tested
    holdout: AucDifferenceTest | None  # None without held-out rows
    design_alone: dict | None = None  # the best single fusion design, when the candidate is an ensemble of trials
    failed_units: tuple[dict, ...] = ()  # units that diverged or ran out of memory twice: {trial, repeat, fold, why}
    retried_units: tuple[dict, ...] = ()  # units that failed once and trained with a new seed
    holdout_failed: bool = False  # a held-out unit of the fusion candidate or of the baseline failed twice
    unscored_baselines: tuple[str, ...] = ()  # baseline roles whose every fresh-fold unit failed twice
    baseline_role: str = ""  # the best baseline's role: a design's name, or "ensemble:image" / "ensemble:numeric"
    control: dict | None = None  # the fusion candidate with the modality the baseline lacks shuffled: its scores,
    # "modality" and "shuffled" (the members trained again)
    control_test: CorrectedTTest | None = None  # the fusion candidate against its control, on the same fresh folds
    looks: tuple[int, ...] = ()  # a two-look confirmation's repeats at each look, (R first, R last); () one look
    look: int = 1  # which look these scores are

    @property
    def level(self) -> float:
        """The one-sided p the fresh-fold tests must beat at this look: 5% with one look; with two, the
        O'Brien-Fleming-type spending's share for this look (about 0.025 then 0.043 for 1 then 2 repeats of 10
        folds), so that the two looks together claim falsely at most 5% of the time."""
        if len(self.looks) < 2:
            return LEVEL
        return sequential_levels(self.looks[0], self.looks[1], self.folds, LEVEL)[self.look - 1]

    @property
    def significant(self) -> bool:
        """Better on the fresh folds at this look's level, one-sided: the only claim the verdict makes is that
        fusion beats the reference, so that is the alternative tested."""
        return beats(self.test, self.level)

    @property
    def control_beaten(self) -> bool:
        """The fusion candidate beats its own control on the fresh folds at this look's level, one-sided (the same
        corrected t-test): this design does better with the real rows of the modality the baseline lacks than with
        a shuffled copy of them (not proof that the modality adds information the other lacks: _control.py)."""
        return beats(self.control_test, self.level)

    @property
    def looks_further(self) -> bool:
        """A first look that did not decide: no claim, a gain over the baseline still positive, and a second look
        planned that could change that (the held-out rows, when any, agreeing; every baseline scored)."""
        test = self.test
        return (len(self.looks) == 2 and self.look == 1 and test is not None and math.isfinite(test.p)
                and test.mean > 0 and not (self.significant and self.control_beaten) and self.holdout_agrees
                and self.complete)

    @property
    def complete(self) -> bool:
        """Every baseline scored on some fresh fold: a baseline that failed on all of them is a reference fusion was
        never compared with, so nothing is confirmed against the rest alone."""
        return not self.unscored_baselines

    @property
    def holdout_agrees(self) -> bool:
        """No held-out rows, or the fusion design is also better on them: DeLong's test (K classes or grouped rows:
        the paired bootstrap), one-sided, at the 5% level
        (merely scoring higher would be a coin flip when fusion adds nothing)."""
        held = self.holdout
        if self.holdout_failed:
            return False
        return held is None or (math.isfinite(held.p_greater) and held.p_greater < LEVEL and held.difference > 0)


def beats(test: CorrectedTTest | None, level: float = LEVEL) -> bool:
    """The fusion candidate is better on the fresh folds at `level` (5% with one look), one-sided."""
    return test is not None and math.isfinite(test.p_greater) and test.p_greater < level and test.mean > 0


def second_look_baseline(study: optuna.Study) -> str | None:
    """The rule the study layer's two-look confirmation asks after its first look (study.confirm): the baseline
    role to look again against (the one the first look judged against), or None when the first look decided:
    fusion claimed, no gain left to look for (futility stopping only lowers the false-claim rate), or nothing a
    second look could change."""
    done = confirmed(study)
    return done.baseline_role if done is not None and done.looks_further else None


def _current_summary(study: optuna.Study) -> dict | None:
    """The confirmation's summary when it confirms the study's current winners, else None."""
    summary = study.user_attrs.get("confirmation")
    if not summary or "fusion" not in summary["designs"] or summary.get("search_trials") != searched_trials(study):
        return None
    if CONTROL not in summary:  # confirmed by a version without the control: `confirm` runs it again
        return None
    return summary


def confirmed(study: optuna.Study) -> Confirmed | None:
    """The study's confirmation, if it confirms the study's current winners (a study that grew after its
    confirmation has new ones, and an old confirmation says nothing about them)."""
    summary = _current_summary(study)
    if summary is None:
        return None
    designs = summary["designs"]
    baselines = {role: d for role, d in designs.items() if is_baseline_role(role) and d["mean_auc"] is not None}
    unscored = tuple(role for role, d in designs.items() if is_baseline_role(role) and d["mean_auc"] is None)
    if not baselines:
        return None
    role = summary.get("second_look")  # a second look compares with the baseline its first look chose
    if role not in baselines:
        role = max(baselines, key=lambda name: baselines[name]["mean_auc"])  # the strongest reference, fairly chosen
    fusion, baseline, control = designs["fusion"], baselines[role], summary[CONTROL][missing_modality(role)]
    return Confirmed(fusion, baseline, fusion.get("repeats", summary["repeats"]), summary["folds"],
                     _fold_test(fusion, baseline, summary),
                     _holdout(study, role), designs.get(FUSION_DESIGN), tuple(summary.get("failed_units", ())),
                     tuple(summary.get("retried_units", ())),
                     bool(fusion.get("holdout_failed") or baseline.get("holdout_failed")), unscored, role, control,
                     _fold_test(fusion, control, summary), tuple(summary.get("looks", ())), summary.get("look", 1))


def _fold_test(fusion: dict, reference: dict, summary: dict) -> CorrectedTTest | None:
    """The corrected t-test of the fusion candidate against a reference over the fresh folds both scored; None when
    fewer than two can be paired."""
    pairs = [(a, b) for a, b in zip(fusion["aucs"], reference["aucs"]) if a is not None and b is not None]
    if len(pairs) < 2 or len(fusion["aucs"]) != len(reference["aucs"]):
        return None
    return corrected_ttest([a for a, _ in pairs], [b for _, b in pairs], 1.0 / (summary["folds"] - 1))


def failed_references(study: optuna.Study) -> tuple[str, ...]:
    """The baseline roles of a confirmation of the study's current winners in which no baseline scored a single
    fresh fold (every unit failed twice), so it can confirm nothing; () otherwise."""
    summary = _current_summary(study)
    if summary is None:
        return ()
    roles = {role: d for role, d in summary["designs"].items() if is_baseline_role(role)}
    return tuple(roles) if roles and all(d["mean_auc"] is None for d in roles.values()) else ()


def _holdout(study: optuna.Study, baseline_role: str) -> AucDifferenceTest | None:
    labels, fusion, baseline = (holdout_scores(study, role) for role in ("labels", "fusion", baseline_role))
    if labels is None or fusion is None or baseline is None:
        return None
    return holdout_test(labels, fusion, baseline, holdout_scores(study, "groups", text=True))


def holdout_test(labels: np.ndarray, fusion: np.ndarray, baseline: np.ndarray,
                 groups: np.ndarray | None) -> AucDifferenceTest:
    """The held-out comparison: DeLong's test for two classes on independent rows; the paired bootstrap for K
    classes, and wherever rows are grouped (DeLong counts one patient's five images as five independent rows: 22%
    false claims at one-sided 5% in a null simulation, bench/grouped_holdout.py, where resampling whole groups
    keeps the level)."""
    if fusion.ndim == 1 and groups is None:
        return delong_test(labels, fusion, baseline)
    return paired_bootstrap_test(labels.astype(int), fusion, baseline, groups)


def confirmation_in_words(confirmed: Confirmed) -> str:
    """The confirmation's result as a short paragraph."""
    test, fusion, baseline = confirmed.test, confirmed.fusion, confirmed.baseline
    parts = [f"The fusion candidate ({describe(fusion)}) and every baseline's best trial (and the single-modality "
             f"ensembles) were trained again on {confirmed.repeats} new partition(s) into {confirmed.folds} folds, "
             f"drawn with new seeds, so the folds played no part in choosing them. There the fusion candidate scored "
             f"{fusion['mean_auc']:.3f} and the best baseline, {describe(baseline)}, {baseline['mean_auc']:.3f}."]
    if confirmed.design_alone is not None:
        alone = confirmed.design_alone
        parts.append(f"The best single fusion design ({describe(alone)}) scored {alone['mean_auc']:.3f} on the same "
                     f"folds: ensembling added {fusion['mean_auc'] - alone['mean_auc']:+.3f}.")
    if test is None or not math.isfinite(test.p):
        parts.append("The fold-by-fold differences cannot be tested (too few, or all equal).")
    else:
        parts.append(f"The fusion design was better in {test.wins} of {test.n} folds (mean difference "
                     f"{test.mean:+.3f}); corrected repeated k-fold t-test t = {test.t:.2f} with {test.n - 1} "
                     f"degrees of freedom, one-sided {p_text(test.p_greater)}, two-sided {p_text(test.p)} (Nadeau & "
                     f"Bengio 2003: the folds' training sets overlap, so the variance is scaled by 1/n + 1/(k-1) = "
                     f"1/{test.n} + 1/{confirmed.folds - 1} = {test.variance_factor:.3f}); {interval_text(test)} for "
                     f"the mean difference. With differences this spread, the smallest gain the test would find at "
                     f"{level_text(confirmed.level)} with 80% power is "
                     f"{detectable_gain(test, confirmed.level):+.3f}.")
    if confirmed.looks:
        parts.append(looks_in_words(confirmed))
    if confirmed.control is not None:
        parts.append(control_paragraph(confirmed))
    if confirmed.failed_units or confirmed.retried_units:
        parts.append(units_in_words(confirmed))
    if confirmed.holdout is not None:
        held = confirmed.holdout
        parts.append(f"On the {held.rows} held-out rows, which no trial saw, both were trained on every search row "
                     f"once: AUC {held.auc_a:.3f} against {held.auc_b:.3f}, {held.name} one-sided "
                     f"{p_text(held.p_greater)}, two-sided {p_text(held.p)}.")
    return " ".join(parts)


MODALITY_WORDS = {"table": "table (numeric and categorical columns)", "image": "images"}


def control_paragraph(confirmed: Confirmed) -> str:
    """What the shuffled control is and what it scored (the other modality's control is in the report's table)."""
    control, test = confirmed.control, confirmed.control_test
    what = MODALITY_WORDS[control["modality"]]
    parts = [f"As a control, the fusion candidate was trained again on the same folds with the rows of its {what} "
             f"shuffled ({len(control['shuffled'])} member(s) read them): the design, its tuning and its blend stay "
             "the same, and the shuffled input keeps its values but no longer belongs to its row. Beating the "
             "control shows that the design does better with the real input than with a shuffled copy, not that "
             "the input adds information the other one lacks: where it repeats what the other input shows, the "
             "shuffled copy contradicts it and can cost the design more than the real one gives."]
    if control["mean_auc"] is None:
        parts.append("Every unit of the control failed, so it cannot show that the design needs the real input.")
    elif test is None or not math.isfinite(test.p):
        parts.append(f"It scored {control['mean_auc']:.3f}; the differences cannot be tested.")
    else:
        parts.append(f"It scored {control['mean_auc']:.3f}; the fusion candidate was better in {test.wins} of "
                     f"{test.n} folds (mean difference {test.mean:+.3f}, corrected t-test one-sided "
                     f"{p_text(test.p_greater)}). \"Fusion helped\" needs both tests at "
                     f"{level_text(confirmed.level)}" + (" (this look's level)." if confirmed.looks else "."))
    return " ".join(parts)


def units_in_words(confirmed: Confirmed) -> str:
    """How many confirmation units diverged or ran out of memory, and how they count."""
    total = confirmed.repeats * confirmed.folds
    parts = []
    if confirmed.retried_units:
        parts.append(f"{len(confirmed.retried_units)} confirmation unit(s) diverged or ran out of memory once and "
                     "trained with a new seed.")
    if confirmed.failed_units:
        names = ", ".join(f"trial {u['trial']} " + ("held-out" if u["repeat"] < 0 else
                                                     f"repeat {u['repeat'] + 1} fold {u['fold'] + 1}")
                          + (f" ({u['shuffled']} shuffled)" if u.get("shuffled") else "")
                          for u in confirmed.failed_units[:5])
        parts.append(f"{len(confirmed.failed_units)} unit(s) failed twice ({names}{', ...' if len(confirmed.failed_units) > 5 else ''}; "
                     f"{total} folds per design): a fusion candidate's failed fold scores 0.5, a baseline's (or a "
                     "shuffled control's) failed fold is left out of the comparison with it, a failed held-out unit "
                     "means no held-out confirmation.")
    if confirmed.unscored_baselines:
        parts.append(f"{', '.join(confirmed.unscored_baselines)} failed on every fresh fold, so fusion cannot be "
                     "confirmed against it.")
    if confirmed.holdout_failed:
        parts.append("A held-out unit failed, so the held-out check cannot confirm fusion.")
    return " ".join(parts)


def describe(design: dict) -> str:
    """'late, trial 13' or 'ensemble of late (trial 13 x2), image_only (trial 0)'."""
    return design["fusion"] if design.get("trial") is None else f"{design['fusion']}, trial {design['trial']}"


def level_text(level: float) -> str:
    """'5%', or '2.49%' for a look's share of it."""
    return f"{100 * level:.3g}%"


def looks_in_words(confirmed: Confirmed) -> str:
    """What the two looks are, which one this is, and the level each must beat."""
    first, last = confirmed.looks
    levels = sequential_levels(first, last, confirmed.folds, LEVEL)
    where = (f"This is the second look: the fusion candidate, {describe(confirmed.baseline)} (the baseline the "
             f"first look judged against) and the shuffled control trained on {last - first} more partition(s)"
             if confirmed.look == 2 else "This is the first look")
    return (f"The confirmation looks twice at most: after {first} partition(s), and, when that look neither claims "
            f"nor finds fusion behind, after {last}. {where}. So that the two looks together claim falsely no more "
            f"than 5% of the time, the first look claims at one-sided p < {levels[0]:.4f} and the second at "
            f"p < {levels[1]:.4f} (O'Brien-Fleming-type alpha spending, Lan & DeMets 1983).")


def interval_text(test: CorrectedTTest | AucDifferenceTest | None) -> str:
    """'95% CI -0.010 to +0.074' (the interval the test inverts), or '' where it is undefined."""
    low, high = (math.nan, math.nan) if test is None or not math.isfinite(test.p) else test.interval(1.0 - LEVEL)
    return "" if not (math.isfinite(low) and math.isfinite(high)) else f"95% CI {low:+.3f} to {high:+.3f}"


def detectable_gain(test: CorrectedTTest | None, level: float = LEVEL) -> float:
    """The smallest gain over the best baseline that these fresh folds would have found at `level` (5%, or the
    look's level) with 80% power (NaN: not defined)."""
    return math.nan if test is None or not math.isfinite(test.p) else test.detectable_gain(POWER, level)


def detectable_in_words(test: CorrectedTTest | None, level: float = LEVEL) -> str:
    """A sentence on what a study that did not claim could have missed, from the spread of its fold differences."""
    gain = detectable_gain(test, level)
    if not math.isfinite(gain):
        return ""
    return (f" With fold differences this spread, a true gain of {gain:+.3f} AUC or more would likely (80% power) "
            "have been seen; smaller gains are not ruled out: collect more rows to look for them.")


def p_text(p: float) -> str:
    """'p = 0.034', 'p < 0.001', or 'p undefined'."""
    return "p undefined" if not math.isfinite(p) else f"p = {p:.2g}" if p >= 0.001 else "p < 0.001"
