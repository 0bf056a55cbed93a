"""Serving: a design retrained on all the data and saved (a .keras file, or a .fusion folder for tree and
stacking designs), opened again without running stored code, and used to score new rows. Importing this
package imports Keras."""

from fusion_search.serving._chosen import export_chosen, retrain_chosen
from fusion_search.serving._export import export_model, retrain, save_model, study_rows
from fusion_search.serving._export_ensemble import EnsembleModel, export_ensemble, load_ensemble
from fusion_search.serving._export_hybrid import HybridModel, load_hybrid
from fusion_search.serving._predict import (
    ModelContract,
    auc_in_words,
    load_exported_model,
    model_contract,
    score_table,
    table_labels,
    unseen_categories,
    write_predictions,
)
from fusion_search.serving._provenance import read_provenance, training_rows_among

__all__ = [
    "EnsembleModel", "export_ensemble", "load_ensemble", "HybridModel", "ModelContract", "export_model", "load_exported_model", "load_hybrid", "model_contract",
    "export_chosen", "read_provenance", "retrain", "retrain_chosen", "save_model", "training_rows_among",
    "auc_in_words", "score_table", "study_rows", "table_labels", "unseen_categories", "write_predictions",
]
