"""Does fusion help? The best fusion design against the best single modality, paired by fold.

Both trials were scored on the same folds (the study fixes them), so the fold-by-fold differences
are paired. Two tests are reported: Wilcoxon's signed-rank test makes no assumption about the
differences' distribution but, with k folds, cannot give a p-value below 2 / 2**k (0.0625 for 5
folds); the paired t-test can, at the price of assuming roughly normal differences. The words on
the page follow the t-test at the 5% level, and say so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import optuna
from scipy import stats

from fusion_search.designs import baseline_fusions
from fusion_search.study import best_baseline, best_per_fusion

LEVEL = 0.05


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
    test: PairedTest | None  # None unless both exist with per-fold AUCs over the same folds

    @property
    def delta(self) -> float | None:
        return None if self.fusion is None or self.baseline is None else self.fusion.value - self.baseline.value

    @property
    def headline(self) -> str:
        """One sentence: did fusion help on this data?"""
        return headline(self)


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
    return Comparison(fusion, baseline, test)


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
    """One sentence: did fusion help on this data?"""
    fusion, baseline, test = comparison.fusion, comparison.baseline, comparison.test
    if baseline is None or fusion is None:
        missing = "single-modality baseline" if baseline is None else "fusion design"
        return f"Cannot tell yet whether fusion helps: the study has no complete {missing} trial."
    ours = f"the best fusion design ({_name(fusion)}, trial {fusion.number}, mean AUC {fusion.value:.3f})"
    theirs = f"the best single modality ({_name(baseline)}, {baseline.value:.3f})"
    delta = comparison.delta
    if delta <= 0:
        return f"Fusion did not help on this data: {ours} is {delta:+.3f} against {theirs}."
    evidence = "" if test is None else f" (better in {test.wins} of {test.folds} folds; paired t-test p = {_p(test.t_test_p)})"
    if test is not None and test.significant:
        return f"Fusion helped on this data: {ours} beats {theirs} by {delta:+.3f}{evidence}."
    return (f"Fusion did not clearly help on this data: {ours} is {delta:+.3f} over {theirs}, "
            f"within fold-to-fold noise{evidence}.")


def paired_test_in_words(test: PairedTest) -> str:
    """The paired test's result as a short paragraph."""
    parts = [f"Over {test.folds} folds the fusion design was better in {test.wins} "
             f"(mean difference {np.mean(test.differences):+.3f})."]
    if math.isfinite(test.wilcoxon_p):
        floor = (f" With {test.folds} folds this test cannot give less than {test.wilcoxon_floor:.4g}"
                 f"{', so it can never reach 0.05 here' if test.wilcoxon_floor >= LEVEL else ''}.")
        parts.append(f"Wilcoxon signed-rank test: p = {_p(test.wilcoxon_p)}.{floor}")
    else:
        parts.append("Wilcoxon signed-rank test: not defined (every fold's difference is zero).")
    if math.isfinite(test.t_test_p):
        verdict = ("unlikely to be fold noise alone" if test.significant
                   else "could well be fold noise")
        parts.append(f"Paired t-test: p = {_p(test.t_test_p)}, so at the 5% level the difference {verdict}.")
    else:
        parts.append("Paired t-test: not defined (the differences do not vary across folds).")
    parts.append("The best of many trials is chosen on these same folds, so its lead is optimistic; "
                 "a held-out test set settles it.")
    return " ".join(parts)


def _name(trial: optuna.trial.FrozenTrial) -> str:
    return trial.user_attrs.get("fusion", trial.params.get("fusion", "?"))


def _p(p: float) -> str:
    return "n/a" if not math.isfinite(p) else f"{p:.2g}" if p >= 0.001 else "< 0.001"
