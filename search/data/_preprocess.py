"""Preprocessing fit on a training fold only: numbers imputed with the median, then standardised
(scikit-learn's SimpleImputer and StandardScaler); categories coded (OrdinalEncoder), with an unknown bucket."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler


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


MAX_LEVELS = 254  # per categorical column; the rarest categories beyond share one code (trees allow 255 bins)


@dataclass(frozen=True)
class CategoryEncoder:
    """Categories learned on a training fold only (scikit-learn's OrdinalEncoder): a column's categories get
    codes 1..V (the rarest beyond MAX_LEVELS share one), 0 is the unknown bucket for a value the training rows
    never had, in a validation fold or at prediction time. A blank is a category like any other."""

    encoder: OrdinalEncoder | None  # None: no categorical columns

    @classmethod
    def fit(cls, categorical: np.ndarray | None) -> "CategoryEncoder":
        if categorical is None or categorical.shape[1] == 0:
            return cls(None)
        encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1, max_categories=MAX_LEVELS,
                                 dtype=np.int64)
        return cls(encoder.fit(np.asarray(categorical, dtype=object)))

    def codes(self, categorical: np.ndarray) -> np.ndarray:
        """int32 (n, c): 1..V for a known category, 0 for an unknown one."""
        return (self.encoder.transform(np.asarray(categorical, dtype=object)) + 1).astype(np.int32)

    def tree_codes(self, categorical: np.ndarray) -> np.ndarray:
        """float (n, c): 0..V-1 for a known category, NaN (missing, for the trees) for an unknown one."""
        codes = self.codes(categorical).astype(np.float64) - 1
        codes[codes < 0] = np.nan
        return codes

    @property
    def sizes(self) -> tuple[int, ...]:
        """Codes per column, the unknown bucket included (V + 1)."""
        if self.encoder is None:
            return ()
        return tuple(max(mapping.values(), default=0) + 1 for mapping in self.mappings())

    def mappings(self) -> list[dict[str, int]]:
        """Per column, category -> code (1..V), as an export stores it; anything else is 0."""
        out = []
        for j, categories in enumerate(self.encoder.categories_ if self.encoder is not None else []):
            codes = self.codes(self._probe(j, list(categories)))[:, j]
            out.append({str(value): int(code) for value, code in zip(categories, codes)})
        return out

    def _probe(self, j: int, values: list) -> np.ndarray:
        """A matrix whose column j holds values and whose other columns hold each column's first category."""
        first = [categories[0] for categories in self.encoder.categories_]
        matrix = np.array([first] * len(values), dtype=object).reshape(len(values), len(first))
        if len(values):
            matrix[:, j] = values
        return matrix
