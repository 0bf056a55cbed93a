"""Numeric preprocessing fit on a training fold only: median imputation, then standardisation
(scikit-learn's SimpleImputer and StandardScaler)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler


@dataclass(frozen=True)
class NumericScaler:
    """The fitted imputer + scaler; ``medians``, ``means`` and ``stds`` are what an exported model carries."""

    pipeline: Pipeline | None  # None: no numeric columns (scikit-learn refuses zero-column arrays)

    @classmethod
    def fit(cls, numeric: np.ndarray) -> "NumericScaler":
        if numeric.shape[1] == 0:
            return cls(None)
        # keep_empty_features: a column with no value in the training fold is imputed with 0, not dropped,
        # so every fold and the exported model see the same columns
        pipeline = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True), StandardScaler())
        return cls(pipeline.fit(numeric))

    def transform(self, numeric: np.ndarray) -> np.ndarray:
        if self.pipeline is None:
            return np.asarray(numeric, dtype=np.float32)
        return self.pipeline.transform(numeric).astype(np.float32)

    @property
    def medians(self) -> np.ndarray:
        return self._part("simpleimputer", "statistics_")

    @property
    def means(self) -> np.ndarray:
        return self._part("standardscaler", "mean_")

    @property
    def stds(self) -> np.ndarray:
        return self._part("standardscaler", "scale_")

    def _part(self, step: str, attribute: str) -> np.ndarray:
        if self.pipeline is None:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(getattr(self.pipeline.named_steps[step], attribute), dtype=np.float32)
