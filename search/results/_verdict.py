"""Does fusion help? The best fusion design against the best single modality.

The words follow the confirmation (_confirmation.py): the winners trained again on fresh folds, tested with
the corrected repeated k-fold t-test, and on held-out rows when there are any. Before it has run, the headline
says the search's lead is unconfirmed and never claims that fusion helped: the best of many trials scored on
the same folds is optimistic by construction.

The search-stage evidence (both trials scored on the study's fixed folds, so paired by fold) is still shown:
Wilcoxon's signed-rank test, which with k folds cannot go below 2 / 2**k, and the plain paired t-test.
"""

from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass

import numpy as np
import optuna
from scipy import stats

from fusion_search.designs import baseline_fusions
from fusion_search.results._classes import class_gains_in_words
from fusion_search.results._confirmation import (LEVEL, Confirmed, confirmed, describe, detectable_gain,
                                                 detectable_in_words, failed_references, interval_text, level_text,
                                                 p_text)
from fusion_search.study import best_baseline, best_per_fusion, design_label, is_below_chance, pruned


@dataclass(frozen=True)
class PairedTest:
    differences: tuple[float, ...]  # fusion minus baseline, per fold
    wilcoxon_p: float  # two-sided; NaN when every difference is zero
    t_test_p: float  # two-sided; NaN when the differences do not vary

    @property
    def folds(self) -> int:
        return len(self.differences)

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.differences)

    @property
    def wilcoxon_floor(self) -> float:
        """The smallest two-sided p the signed-rank test can give with this many folds."""
        return 2.0 / 2**self.folds

    @property
    def significant(self) -> bool:
        return math.isfinite(self.t_test_p) and self.t_test_p < LEVEL


@dataclass(frozen=True)
class Comparison:
    fusion: optuna.trial.FrozenTrial | None  # best complete trial of a design that uses both inputs
    baseline: optuna.trial.FrozenTrial | None  # best complete single-modality trial
    test: PairedTest | None  # search stage: None unless both exist with per-fold AUCs over the same folds
    confirmed: Confirmed | None = None  # None until the confirmation of this fusion trial is complete
    stopped_fusions: int = 0  # fusion trials that fold pruning stopped early (worse than the best so far)
    below_chance: tuple[str, ...] = ()  # the baselines whose best trial is flagged below chance, in words
    failed_references: tuple[str, ...] = ()  # a finished confirmation in which every baseline failed on every fold

    @property
    def delta(self) -> float | None:
        """The search-stage lead (optimistic: the best of many trials on the same folds)."""
        return None if self.fusion is None or self.baseline is None else self.fusion.value - self.baseline.value

    @property
    def helped(self) -> bool:
        """Fusion beat the best single modality on fresh folds (corrected t-test at 5%), and beat itself with the
        modality that baseline lacks shuffled (the same test: the design does better with that modality's real rows
        than with a shuffled copy, so the gain is not its extra tuning or blending alone; it need not be
        information the other modality lacks, _control.py), and on held-out rows when there are any. Nothing else
        counts."""
        done = self.confirmed
        return (done is not None and done.significant and done.control_beaten and done.holdout_agrees
                and done.complete and not self.below_chance)

    @property
    def evidence(self) -> dict | None:
        """The confirmation's numbers behind the headline, for the export record: the fresh-fold gain over the best
        baseline, its 95% interval, one-sided p, and the smallest gain detectable at 5% with 80% power; None before
        a confirmation (or where the differences cannot be tested)."""
        test = None if self.confirmed is None else self.confirmed.test
        if test is None or not math.isfinite(test.p):
            return None
        level = self.confirmed.level
        low, high = test.interval(1.0 - LEVEL)
        gain = detectable_gain(test, level)
        return {"helped": self.helped, "gain": round(test.mean, 6), "interval_95": [round(low, 6), round(high, 6)],
                "lower_bound": round(test.lower_bound(1.0 - level), 6), "level_one_sided": round(level, 6),
                "look": self.confirmed.look, "looks": list(self.confirmed.looks) or None,
                "p_one_sided": test.p_greater, "detectable_gain_80": round(gain, 6) if math.isfinite(gain) else None,
                "folds": test.n}

    @property
    def headline(self) -> str:
        """One sentence: did fusion help on this data?"""
        return headline(self)

    def __repr__(self) -> str:  # short: the two trials' full records are .fusion and .baseline
        sides = [f"{_name(t)} (trial {t.number})" if t else "none" for t in (self.fusion, self.baseline)]
        return f"<Comparison {sides[0]} against {sides[1]}: {self.headline.split(':')[0]}>"

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(self.headline)}</p>"


def compare(study: optuna.Study) -> Comparison:
    best = best_per_fusion(study)
    fusions = [t for name, t in best.items() if name not in baseline_fusions()]
    reference = best_baseline(study)
    fusion = fusions[0] if fusions else None
    baseline = best[reference[0]] if reference else None
    test = None
    if fusion is not None and baseline is not None:
        a, b = fusion.user_attrs.get("fold_aucs", []), baseline.user_attrs.get("fold_aucs", [])
        pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]  # a pruned trial skips folds
        if len(a) == len(b) and len(pairs) >= 2:
            test = paired_test([x for x, _ in pairs], [y for _, y in pairs])
    stopped = sum(trial.user_attrs.get("fusion") not in baseline_fusions() for trial in pruned(study))
    flagged = tuple(f"{name} (trial {best[name].number})" for name in baseline_fusions()
                    if name in best and is_below_chance(best[name]))
    return Comparison(fusion, baseline, test, confirmed(study), stopped, flagged, failed_references(study))


def paired_test(fusion_aucs: list[float], baseline_aucs: list[float]) -> PairedTest:
    a, b = np.asarray(fusion_aucs, dtype=float), np.asarray(baseline_aucs, dtype=float)
    differences = a - b
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on ties and zero variance; NaN says it here
        try:
            wilcoxon_p = float(stats.wilcoxon(a, b).pvalue) if np.any(differences != 0) else math.nan
        except ValueError:
            wilcoxon_p = math.nan
        t_test_p = float(stats.ttest_rel(a, b).pvalue) if np.std(differences) > 0 else math.nan
    return PairedTest(tuple(round(float(d), 6) for d in differences), wilcoxon_p, t_test_p)


def headline(comparison: Comparison) -> str:
    """One sentence (more with held-out rows, failed confirmation units or a baseline below chance): did fusion
    help on this data?"""
    sentence = _headline(comparison)
    done = comparison.confirmed
    if done is not None and done.failed_units:
        sentence += (f" {len(done.failed_units)} confirmation unit(s) diverged or ran out of memory twice (a fusion "
                     "fold scored 0.5, a baseline fold left out: see the report).")
    if done is not None and done.unscored_baselines:
        sentence += (f" The {', '.join(done.unscored_baselines)} baseline failed on every fresh fold, so fusion "
                     "cannot be confirmed against it.")
    sentence += class_gains_in_words(comparison.fusion, comparison.baseline)
    if comparison.below_chance:
        flagged = ", ".join(comparison.below_chance)
        sentence += (f" Caution: the best {flagged} baseline scored below chance out of fold (a training problem, "
                     "or folds too small to rank), so the single-modality reference may be too weak; fusion is not "
                     "claimed to help against it.")
    return sentence


def _headline(comparison: Comparison) -> str:
    fusion, baseline, done = comparison.fusion, comparison.baseline, comparison.confirmed
    if fusion is None and baseline is not None and comparison.stopped_fusions:
        return (f"Fusion did not help in the search: each of its {comparison.stopped_fusions} fusion trial(s) was "
                f"stopped early by fold pruning, worse on the folds it ran than the best trial so far; the best "
                f"single modality is {_name(baseline)} ({baseline.value:.3f}). No fusion design was scored on "
                "every fold, so none was confirmed.")
    if baseline is None or fusion is None:
        missing = "single-modality baseline" if baseline is None else "fusion design"
        return f"Cannot tell yet whether fusion helps: the study has no complete {missing} trial."
    if done is None and comparison.failed_references:
        return (f"Fusion cannot be confirmed: on the fresh folds every baseline ({', '.join(comparison.failed_references)}) "
                "diverged or ran out of memory twice on every fold, so there is no reference to test fusion against "
                f"and fusion is not claimed to help. In the search, {_name(fusion)} (trial {fusion.number}) is "
                f"{comparison.delta:+.3f} against {_name(baseline)}"
                + (", an optimistic lead." if comparison.delta > 0 else ": it did not lead there either."))
    if done is None:
        return _unconfirmed(comparison)
    ours = f"the best fusion design ({describe(done.fusion)}, {done.fusion['mean_auc']:.3f})"
    theirs = f"the best single modality ({describe(done.baseline)}, {done.baseline['mean_auc']:.3f})"
    test = done.test
    interval = interval_text(test)
    bound = "" if not (done.significant and interval) else (f"at least {test.lower_bound(1.0 - done.level):+.3f} "
                                                            f"with {level_text(1.0 - done.level)} confidence "
                                                            "(one-sided), ")
    evidence = "" if test is None else (f" (better in {test.wins} of {test.n} folds; corrected repeated k-fold "
                                        f"t-test, one-sided {p_text(test.p_greater)}" + look_level_text(done)
                                        + (f"; {bound}{'two-sided ' if bound else ''}{interval}" if interval else "")
                                        + ")")
    where = f"on {done.repeats}x{done.folds} fresh folds" + (" (first look of two)" if done.looks_further else "")
    difference = done.fusion["mean_auc"] - done.baseline["mean_auc"]
    if comparison.helped:
        sentence = (f"Fusion helped on this data: {where}, {ours} beats {theirs} by {difference:+.3f}{evidence}, "
                    f"and beats itself {control_in_words(done)}.")
    elif done.significant and not done.control_beaten:  # better, but not shown to be thanks to the other input
        sentence = (f"Fusion did not clearly help on this data: {where}, {ours} beats {theirs} by "
                    f"{difference:+.3f}{evidence}, but {control_shortfall(done)}")
    elif done.significant and not done.holdout_agrees:  # better on fresh folds, not on the rows no trial saw
        sentence = (f"Fusion is not confirmed on the held-out rows: {where}, {ours} beats {theirs} by "
                    f"{difference:+.3f}{evidence}, but not on the held-out rows.")
    elif done.significant:  # better on fresh folds, but against a reference that failed or trained below chance
        sentence = (f"Fusion is not confirmed: {where}, {ours} beats {theirs} by {difference:+.3f}{evidence}, but a "
                    "baseline it is judged against " + ("failed to train (below)." if done.unscored_baselines
                                                         else "trained below chance."))
    elif difference <= 0:
        sentence = f"Fusion did not help on this data: {where}, {ours} is {difference:+.3f} against {theirs}{evidence}."
    else:
        sentence = (f"Fusion did not clearly help on this data: {where}, {ours} is {difference:+.3f} over {theirs}, "
                    f"within fold-to-fold noise{evidence}.")
    if done.holdout is not None:
        held = done.holdout
        held_interval = interval_text(held)
        sentence += (f" On the {held.rows} held-out rows: AUC {held.auc_a:.3f} against {held.auc_b:.3f} "
                     f"({held.method}, one-sided {p_text(held.p_greater)}"
                     + (f"; difference {held.difference:+.3f}, {held_interval}" if held_interval else "") + ").")
    if not comparison.helped:
        sentence += detectable_in_words(test, done.level)
    if done.looks_further:
        sentence += (" A second look on more fresh folds is planned; until it has run, this is the first look's "
                     "answer (run `confirm` to finish it).")
    return sentence


def look_level_text(done: Confirmed) -> str:
    """' at the first look's level 0.0249 of two' (a two-look confirmation: the one-sided p it must beat), or ''."""
    if not done.looks:
        return ""
    return f", against the {('first', 'second')[done.look - 1]} look's level {done.level:.4f}"


SHUFFLED = {"table": "the table's rows shuffled", "image": "the images shuffled"}  # among the rows
CARRIED = {"table": "the table", "image": "the images"}


def control_in_words(done: Confirmed) -> str:
    """'with the table's rows shuffled (0.781) by +0.052 (better in 9 of 10 folds, one-sided p = 0.003)'."""
    control, test = done.control, done.control_test
    evidence = _control_evidence(test)
    return (f"with {SHUFFLED[control['modality']]} ({control['mean_auc']:.3f}) by "
            f"{done.fusion['mean_auc'] - control['mean_auc']:+.3f}{evidence}")


def _control_evidence(test) -> str:
    return "" if test is None else f" (better in {test.wins} of {test.n} folds, one-sided {p_text(test.p_greater)})"


def control_shortfall(done: Confirmed) -> str:
    """Why the control leaves the gain unexplained, as the end of a sentence."""
    control, modality = done.control, done.control["modality"]
    if control["mean_auc"] is None:
        return (f"its control (the same design with {SHUFFLED[modality]}) failed on every fresh fold, so nothing "
                f"shows the gain comes from {CARRIED[modality]}.")
    test = done.control_test
    evidence = _control_evidence(test)
    return (f"against itself with {SHUFFLED[modality]} ({control['mean_auc']:.3f}) it is "
            f"{done.fusion['mean_auc'] - control['mean_auc']:+.3f}{evidence}: the gain over the single modality is "
            f"not shown to come from {CARRIED[modality]} (it may come from the fusion design's extra tuning or "
            "blending).")


def _unconfirmed(comparison: Comparison) -> str:
    fusion, baseline, delta = comparison.fusion, comparison.baseline, comparison.delta
    ours = f"the best fusion design ({_name(fusion)}, trial {fusion.number}, mean AUC {fusion.value:.3f})"
    theirs = f"the best single modality ({_name(baseline)}, {baseline.value:.3f})"
    if delta <= 0:
        return f"Fusion did not help in the search: {ours} is {delta:+.3f} against {theirs}."
    return (f"Not confirmed yet: in the search, {ours} is {delta:+.3f} over {theirs}, a lead that is optimistic "
            "(the best of many trials on the same folds); `fusion-search confirm` trains both again on fresh folds "
            "to test it.")


def paired_test_in_words(test: PairedTest) -> str:
    """The paired test's result as a short paragraph."""
    parts = [f"Over {test.folds} folds the fusion design was better in {test.wins} "
             f"(mean difference {np.mean(test.differences):+.3f})."]
    if math.isfinite(test.wilcoxon_p):
        floor = (f" With {test.folds} folds this test cannot give less than {test.wilcoxon_floor:.4g}"
                 f"{', so it can never reach 0.05 here' if test.wilcoxon_floor >= LEVEL else ''}.")
        parts.append(f"Wilcoxon signed-rank test: {p_text(test.wilcoxon_p)}.{floor}")
    else:
        parts.append("Wilcoxon signed-rank test: not defined (every fold's difference is zero).")
    if math.isfinite(test.t_test_p):
        verdict = ("unlikely to be fold noise alone" if test.significant
                   else "could well be fold noise")
        parts.append(f"Paired t-test: {p_text(test.t_test_p)}, so at the 5% level the difference {verdict}.")
    else:
        parts.append("Paired t-test: not defined (the differences do not vary across folds).")
    parts.append("These are the folds the best of many trials was chosen on, so this lead is optimistic; the "
                 "verdict follows the confirmation on fresh folds.")
    return " ".join(parts)


def _name(trial: optuna.trial.FrozenTrial) -> str:
    return design_label(trial)
