"""Numeric preprocessing fit on a training fold only: median imputation, then standardisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class NumericScaler:
    """Per-column medians (for missing values), means and standard deviations."""

    medians: np.ndarray
    means: np.ndarray
    stds: np.ndarray

    @classmethod
    def fit(cls, numeric: np.ndarray) -> "NumericScaler":
        with np.errstate(all="ignore"):
            medians = np.nanmedian(numeric, axis=0) if numeric.size else np.zeros(numeric.shape[1])
        medians = np.where(np.isnan(medians), 0.0, medians)  # a column with no value at all
        filled = _fill(numeric, medians)
        stds = filled.std(axis=0)
        return cls(medians.astype(np.float32), filled.mean(axis=0).astype(np.float32),
                   np.where(stds > 1e-12, stds, 1.0).astype(np.float32))

    def transform(self, numeric: np.ndarray) -> np.ndarray:
        return ((_fill(numeric, self.medians) - self.means) / self.stds).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"medians": self.medians.tolist(), "means": self.means.tolist(), "stds": self.stds.tolist()}


def _fill(numeric: np.ndarray, medians: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(numeric), medians[None, :], numeric)
