"""Serving: a design retrained on all the data and saved (a .keras file, or a .fusion folder for tree and
stacking designs), opened again without running stored code, and used to score new rows. Importing this
package imports Keras."""

from fusion_search.serving._export import export_model, retrain, save_model, study_rows
from fusion_search.serving._export_ensemble import EnsembleModel, export_ensemble, load_ensemble
from fusion_search.serving._export_hybrid import HybridModel, load_hybrid
from fusion_search.serving._predict import (
    ModelContract,
    load_exported_model,
    model_contract,
    score_table,
    table_labels,
    unseen_categories,
    write_predictions,
)

__all__ = [
    "EnsembleModel", "export_ensemble", "load_ensemble", "HybridModel", "ModelContract", "export_model", "load_exported_model", "load_hybrid", "model_contract",
    "retrain", "save_model", "score_table", "study_rows", "table_labels", "unseen_categories", "write_predictions",
]
