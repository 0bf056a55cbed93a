"""The two tests behind the verdict, written here because SciPy and scikit-learn have neither:

- the corrected repeated k-fold t-test (Nadeau & Bengio 2003, "Inference for the generalization error";
  applied to r repeats of k folds by Bouckaert & Frank 2004, "Evaluating the replicability of significance
  tests for comparing learning algorithms"): the k training sets of one repeat overlap, so the plain
  paired t-test's variance is too small; it is inflated by (1/n + n_test/n_train);
- DeLong's test for two correlated ROC AUCs on the same rows (DeLong, DeLong & Clarke-Pearson 1988), in
  the midrank form of Sun & Xu 2014 ("Fast implementation of DeLong's algorithm").
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate, optimize, stats

from fusion_search.trainers import fold_auc


@dataclass(frozen=True)
class CorrectedTTest:
    """Paired differences a - b over r repeats x k folds, and the corrected t-test on them."""

    differences: tuple[float, ...]
    test_train_ratio: float  # n_test / n_train of one fold
    t: float  # NaN when the differences do not vary
    p: float  # two-sided
    p_greater: float  # one-sided, against the alternative that a is better than b

    @property
    def n(self) -> int:
        return len(self.differences)

    @property
    def mean(self) -> float:
        return float(np.mean(self.differences))

    @property
    def wins(self) -> int:
        return sum(d > 0 for d in self.differences)

    @property
    def variance_factor(self) -> float:
        """1/n + n_test/n_train: how much the sample variance is inflated for the overlapping training sets."""
        return 1.0 / self.n + self.test_train_ratio

    @property
    def standard_error(self) -> float:
        """sqrt((1/n + n_test/n_train) s^2): the corrected standard error of the mean difference (0 when the
        differences do not vary)."""
        return math.sqrt(self.variance_factor * float(np.var(self.differences, ddof=1)))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The two-sided confidence interval of the mean difference that the corrected t-test inverts:
        mean +- t_{(1+level)/2, n-1} * standard error."""
        half = float(stats.t.ppf((1.0 + level) / 2.0, df=self.n - 1)) * self.standard_error
        return self.mean - half, self.mean + half

    def lower_bound(self, level: float = 0.95) -> float:
        """The one-sided confidence bound the one-sided corrected t-test inverts: mean - t_{level, n-1} * standard
        error; above 0 exactly when the one-sided p is below 1 - level."""
        return self.mean - float(stats.t.ppf(level, df=self.n - 1)) * self.standard_error

    def detectable_gain(self, power: float = 0.8, alpha: float = 0.05) -> float:
        """The smallest true mean difference that this one-sided test at `alpha` finds with probability `power`, were
        the differences as spread as these: delta = ncp * standard error, ncp the noncentrality at which the
        noncentral t (n - 1 degrees of freedom) exceeds the critical value with that probability. NaN when the
        differences do not vary."""
        if self.standard_error == 0.0:
            return math.nan
        return noncentrality_for_power(self.n - 1, power, alpha) * self.standard_error


def corrected_ttest(a: list[float], b: list[float], test_train_ratio: float) -> CorrectedTTest:
    """t = mean(d) / sqrt((1/n + n_test/n_train) * s^2), s^2 the sample variance of the n = r*k paired
    differences d, with n - 1 degrees of freedom (Bouckaert & Frank 2004, eq. for the corrected repeated
    k-fold cv test)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) < 2:
        raise ValueError("the corrected t-test needs at least two paired differences")
    variance = float(np.var(d, ddof=1))
    if variance == 0.0:
        return CorrectedTTest(tuple(map(float, d)), test_train_ratio, math.nan, math.nan, math.nan)
    t = float(d.mean() / math.sqrt((1.0 / len(d) + test_train_ratio) * variance))
    p = float(2.0 * stats.t.sf(abs(t), df=len(d) - 1))
    return CorrectedTTest(tuple(map(float, d)), test_train_ratio, t, p, float(stats.t.sf(t, df=len(d) - 1)))


def noncentrality_for_power(df: int, power: float, alpha: float) -> float:
    """The noncentrality at which a one-sided t-test at `alpha` with `df` degrees of freedom rejects with probability
    `power` (scipy's noncentral t; SciPy has no power solver for it)."""
    critical = float(stats.t.ppf(1.0 - alpha, df))
    return float(optimize.brentq(lambda ncp: stats.nct.sf(critical, df, ncp) - power, 0.0, 100.0))


def corrected_information(repeats: int, folds: int) -> float:
    """1 / (1/n + 1/(k-1)) for n = repeats x k fresh folds: what a look at them knows, up to the differences'
    variance (the corrected t-test's variance factor, Nadeau & Bengio 2003)."""
    return 1.0 / (1.0 / (repeats * folds) + 1.0 / (folds - 1))


@functools.lru_cache(maxsize=64)
def sequential_levels(first_repeats: int, last_repeats: int, folds: int, level: float = 0.05) -> tuple[float, float]:
    """One-sided p thresholds of a two-look confirmation (first_repeats x folds, then last_repeats x folds) that
    together claim `level` under the null: O'Brien-Fleming-type spending alpha(t) = 2 - 2 Phi(z_{1-level/2} / sqrt(t))
    (Lan & DeMets 1983) at the first look's information fraction t, and the second look's z solved so that
    P(Z1 > c1 or Z2 > c2) = level with the looks' z correlated sqrt(t) (independent increments hold for the corrected
    variance model: between repeats only the shared 1/(k-1) term covaries). SciPy has the normal pieces, no solver
    for the spending; bench/confirmation_power.py measures the level these give."""
    t = corrected_information(first_repeats, folds) / corrected_information(last_repeats, folds)
    first = 2.0 - 2.0 * stats.norm.cdf(stats.norm.ppf(1.0 - level / 2.0) / math.sqrt(t))
    c1, rho = float(stats.norm.isf(first)), math.sqrt(t)

    def neither(c2: float) -> float:  # P(Z1 <= c1, Z2 <= c2), by quadrature: deterministic, so every worker agrees
        inner = lambda z: stats.norm.pdf(z) * stats.norm.cdf((c2 - rho * z) / math.sqrt(1.0 - rho * rho))
        return integrate.quad(inner, -np.inf, c1)[0]

    c2 = optimize.brentq(lambda c: 1.0 - neither(c) - level, 0.0, 6.0)
    return float(first), float(stats.norm.sf(c2))


@dataclass(frozen=True)
class AucDifferenceTest:
    """Two ROC AUCs on the same rows and a paired test of their difference (DeLong's, or a paired bootstrap)."""

    auc_a: float
    auc_b: float
    z: float  # NaN when the two scores rank the rows identically
    p: float  # two-sided
    rows: int
    p_greater: float = math.nan  # one-sided, against the alternative that a's AUC is higher than b's
    method: str = "DeLong"

    @property
    def name(self) -> str:
        """How a sentence names the test: "DeLong's test", "a paired bootstrap test"."""
        return "DeLong's test" if self.method == "DeLong" else f"a {self.method} test"

    @property
    def difference(self) -> float:
        return self.auc_a - self.auc_b

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The normal-theory interval of the AUC difference that the test's z inverts: difference +- z_{(1+level)/2}
        * its standard error (DeLong's, or the bootstrap's spread); (NaN, NaN) where z is undefined."""
        if not math.isfinite(self.z) or self.z == 0.0:
            return math.nan, math.nan
        half = float(stats.norm.ppf((1.0 + level) / 2.0)) * abs(self.difference / self.z)
        return self.difference - half, self.difference + half


def delong_test(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray) -> AucDifferenceTest:
    """AUCs from midranks; their covariance from the placement values of positives (V10) and negatives (V01):
    S = S10 / m + S01 / n; z = (auc_a - auc_b) / sqrt(S_aa + S_bb - 2 S_ab)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.vstack([np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)])
    if scores.shape[1] != len(labels) or labels.all() or not labels.any():
        raise ValueError("DeLong's test needs one score per row and both classes")
    positives, negatives = scores[:, labels], scores[:, ~labels]
    m, n = positives.shape[1], negatives.shape[1]
    aucs, v10, v01 = [], [], []
    for pos, neg in zip(positives, negatives):
        both = stats.rankdata(np.concatenate([pos, neg]))  # midranks over all rows
        within_pos, within_neg = stats.rankdata(pos), stats.rankdata(neg)
        aucs.append((both[:m].sum() - m * (m + 1) / 2) / (m * n))
        v10.append((both[:m] - within_pos) / n)  # share of negatives each positive outranks
        v01.append(1.0 - (both[m:] - within_neg) / m)  # share of positives that outrank each negative
    covariance = np.cov(np.array(v10)) / m + np.cov(np.array(v01)) / n
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    if variance <= 0:
        return AucDifferenceTest(float(aucs[0]), float(aucs[1]), math.nan, math.nan, len(labels))
    z = float((aucs[0] - aucs[1]) / math.sqrt(variance))
    return AucDifferenceTest(float(aucs[0]), float(aucs[1]), z, float(2.0 * stats.norm.sf(abs(z))), len(labels),
                      float(stats.norm.sf(z)))


BOOTSTRAP_DRAWS = 2000


def paired_bootstrap_test(labels: np.ndarray, scores_a: np.ndarray, scores_b: np.ndarray,
                          groups: np.ndarray | None = None, draws: int = BOOTSTRAP_DRAWS,
                          seed: int = 0) -> AucDifferenceTest:
    """The paired bootstrap of an AUC difference, as pROC's roc.test(method="bootstrap") computes it (Robin et al.
    2011): z = (auc_a - auc_b) / sd of the difference over resamples of the rows, each class resampled on its own
    (stratified), or whole groups resampled where rows are grouped (a draw lacking a class is drawn again). For
    scores where DeLong's test does not apply: K-class scores (rows x K), scored by the macro one-vs-rest AUC.
    Written here: scipy.stats.bootstrap resamples neither within classes nor whole groups."""
    labels = np.asarray(labels)
    scores_a, scores_b = np.asarray(scores_a, dtype=float), np.asarray(scores_b, dtype=float)
    auc_a, auc_b = rank_auc(labels, scores_a), rank_auc(labels, scores_b)
    rng, classes = np.random.default_rng(seed), np.unique(labels)
    differences, tries = [], 0
    while len(differences) < draws:
        tries += 1
        if tries > 20 * draws:
            raise ValueError("the paired bootstrap cannot draw resamples that hold every class")
        rows = _resample(labels, classes, groups, rng)
        if len(np.unique(labels[rows])) == len(classes):
            differences.append(rank_auc(labels[rows], scores_a[rows]) - rank_auc(labels[rows], scores_b[rows]))
    spread = float(np.std(differences, ddof=1))
    if spread == 0.0:
        return AucDifferenceTest(auc_a, auc_b, math.nan, math.nan, len(labels), math.nan, "paired bootstrap")
    z = (auc_a - auc_b) / spread
    return AucDifferenceTest(auc_a, auc_b, z, float(2.0 * stats.norm.sf(abs(z))), len(labels), float(stats.norm.sf(z)),
                             "paired bootstrap")


def rank_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """fold_auc's value (binary ROC AUC, or the macro one-vs-rest AUC of (rows, K) scores) from midranks (Mann-Whitney
    U / (m n)), all K columns ranked at once: the bootstrap computes it thousands of times, and scikit-learn's
    roc_auc_score builds a whole curve each time (40 s for 2,000 draws of 200 rows and 7 classes)."""
    scores = np.asarray(scores, dtype=float)
    columns = scores[:, None] if scores.ndim == 1 else scores
    members = (labels[:, None] == (np.arange(columns.shape[1]) if scores.ndim > 1 else np.array([1])))
    ranks = stats.rankdata(columns, axis=0)
    m = members.sum(axis=0)
    n = len(labels) - m
    return float(np.mean(((ranks * members).sum(axis=0) - m * (m + 1) / 2) / (m * n)))


def _resample(labels: np.ndarray, classes: np.ndarray, groups: np.ndarray | None,
              rng: np.random.Generator) -> np.ndarray:
    """Row indices of one resample: each class's rows drawn with replacement, or whole groups where grouped."""
    if groups is None:
        return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=int((labels == c).sum())) for c in classes])
    names, group_of = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(group_of == g) for g in range(len(names))]
    return np.concatenate([members[g] for g in rng.integers(0, len(names), len(names))])
