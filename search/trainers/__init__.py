"""Trainers: fit a design on a fold and score the whole held-out fold. The Keras trainer fits every neural
design; tree and stacking designs have trainers of their own. Each trainer's module (and with it any
framework) is imported when a design of its kind first trains."""

from fusion_search.trainers._fold import MODALITIES, Diverged, FoldData, FoldResult, class_aucs, fold_auc, is_out_of_memory
from fusion_search.trainers._registry import (
    fold_data,
    get_trainer,
    register_trainer,
    too_large,
    train_fold,
    trainer_entries,
    unregister_trainer,
)
from fusion_search.trainers._trees import fit_trees, make_trees, table_features

__all__ = [
    "MODALITIES", "Diverged", "FoldData", "FoldResult", "class_aucs", "fit_trees", "fold_auc", "fold_data", "get_trainer", "is_out_of_memory", "make_trees",
    "register_trainer", "table_features", "too_large", "train_fold", "trainer_entries", "unregister_trainer",
]
