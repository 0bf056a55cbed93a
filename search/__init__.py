"""Fusion Search: search image + numeric fusion designs by k-fold cross-validated ROC AUC.

Data flows one way: manifest -> dataset (decoded once) -> folds -> design -> model
-> fold training -> AUC -> trial value -> study. Each arrow is a function here.
"""

from search import _runtime  # noqa: F401  (backend defaults before keras loads)
from search._data import Manifest, ManifestSpec, read_manifest
from search._dataset import SearchData, prepare_data
from search._design import Design
from search._errors import UserError
from search._folds import assign_folds, fold_indices
from search._model import build_model
from search._objective import CrossValidatedObjective
from search._study import RunSettings, open_or_create_study, run_search
from search._summary import export_record
from search._synthetic import make_demo_dataset
from search._train import FoldData, FoldResult, fold_auc, train_fold

__all__ = [
    "CrossValidatedObjective", "Design", "FoldData", "FoldResult", "Manifest", "ManifestSpec", "RunSettings",
    "SearchData", "UserError", "assign_folds", "build_model", "export_record", "fold_auc", "fold_indices",
    "make_demo_dataset", "open_or_create_study", "prepare_data", "read_manifest", "run_search", "train_fold",
]
