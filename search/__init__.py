"""Fusion Search: which way of joining an image model and a numeric model beats the best single
modality, by how much, and is the difference real? An Optuna search over fusion designs, each trial a
k-fold cross-validated training scored by ROC AUC.

    import fusion_search
    result = fusion_search.search("manifest.csv", space="quick", trials=30)
    print(result.verdict.headline)

Importing this package loads no deep-learning framework; training does.
"""

from importlib import import_module

from fusion_search._config import apply_environment_defaults
from fusion_search._errors import UserError

apply_environment_defaults()  # before any module of ours can import Keras

__all__ = ["DesignScore", "SearchResult", "UserError", "search"]
_API = {"DesignScore", "SearchResult", "search"}


def __getattr__(name: str):
    """The Python API loads on first use: every `fusion-search` command imports this package first (the
    console script is fusion_search.cli:main), and `--help` should not wait for scikit-learn and Optuna."""
    if name in _API:
        return getattr(import_module("fusion_search._api"), name)
    raise AttributeError(f"module 'fusion_search' has no attribute {name!r}")
