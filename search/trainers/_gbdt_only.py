from fusion_search.data import SearchData
from fusion_search.designs import Design
from fusion_search.trainers._fold import FoldData, FoldResult, fold_auc
from fusion_search.trainers._trees import Timer, fit_and_score


class GbdtOnly:
    """Baseline: gradient-boosted trees on the numeric columns alone (no image).

    scikit-learn's HistGradientBoostingClassifier (LightGBM-style histogram boosting; Ke et al.,
    "LightGBM", NeurIPS 2017). On real tabular columns trees often beat a small MLP by a wide margin,
    so every study measures them: a fused network must beat THIS to be worth having.
    """

    @staticmethod
    def fold_data(data: SearchData, design: Design) -> FoldData:
        return FoldData.of(data.manifest)

    @staticmethod
    def train_fold(design: Design, data: FoldData, train_idx, val_idx, seed: int, on_epoch=None) -> FoldResult:
        with Timer() as timer:
            scores, iterations = fit_and_score(design, data, train_idx, val_idx, seed)
        return FoldResult(fold_auc(data.labels[val_idx], scores), scores, iterations, timer.seconds)
