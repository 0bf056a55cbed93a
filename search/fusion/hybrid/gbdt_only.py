from search._design import Design
from search.fusion._base import Fusion, register_fusion
from search.fusion.hybrid._trees import TREE_FIELDS, Timer, fit_and_score


@register_fusion
class GbdtOnly(Fusion):
    """Baseline: gradient-boosted trees on the numeric columns alone (no image).

    scikit-learn's HistGradientBoostingClassifier (LightGBM-style histogram boosting; Ke et al.,
    "LightGBM", NeurIPS 2017). On real tabular columns trees often beat a small MLP by a wide margin,
    so every study measures them: a fused network must beat THIS to be worth having.
    """

    name = "gbdt_only"
    neural = False
    uses_image = False
    reads = TREE_FIELDS
    optional = TREE_FIELDS

    @staticmethod
    def network_design(design: Design) -> None:
        return None  # trees only: nothing trains on the device

    @staticmethod
    def train_fold(design: Design, data, train_idx, val_idx, seed: int, on_epoch=None):
        from search._train import FoldResult, fold_auc

        with Timer() as timer:
            scores, iterations = fit_and_score(design, data.numeric[train_idx], data.labels[train_idx],
                                               data.numeric[val_idx], seed)
        return FoldResult(fold_auc(data.labels[val_idx], scores), scores, iterations, timer.seconds)
