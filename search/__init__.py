"""Fusion Search: which way of joining an image model and a numeric model beats the best single
modality, by how much, and is the difference real? An Optuna search over fusion designs, each trial a
k-fold cross-validated training scored by ROC AUC.

    import fusion_search
    result = fusion_search.search("manifest.csv", space="quick", trials=30)
    print(result.verdict.headline)

Importing this package loads no deep-learning framework; training does.
"""

from fusion_search._config import apply_environment_defaults

apply_environment_defaults()  # before any module of ours can import Keras

from fusion_search._api import DesignScore, SearchResult, search  # noqa: E402
from fusion_search._errors import UserError  # noqa: E402

__all__ = ["DesignScore", "SearchResult", "UserError", "search"]
