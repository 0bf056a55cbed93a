"""Fusion Search: search image + numeric fusion designs by k-fold cross-validated ROC AUC.

Data flows one way: manifest -> dataset (decoded once) -> folds -> design -> model
-> fold training -> AUC -> trial value -> study. Each arrow is a function here.

The public names load on first use (PEP 562), so ``import spaces`` (which needs only
``search._design`` and the fusion registry) works before or after ``import search``.
"""

from importlib import import_module

from search import _runtime  # noqa: F401  (backend defaults before keras loads)

_PUBLIC = {
    "Manifest": "_data", "ManifestSpec": "_data", "read_manifest": "_data",
    "SearchData": "_dataset", "prepare_data": "_dataset",
    "Design": "_design",
    "UserError": "_errors",
    "assign_folds": "_folds", "fold_indices": "_folds",
    "build_model": "_model",
    "CrossValidatedObjective": "_objective",
    "RunSettings": "_study", "open_or_create_study": "_study", "run_search": "_study",
    "export_record": "_summary",
    "make_demo_dataset": "_synthetic",
    "FoldData": "_train", "FoldResult": "_train", "fold_auc": "_train", "train_fold": "_train",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    value = getattr(import_module(f"search.{_PUBLIC[name]}"), name)
    globals()[name] = value
    return value
