import numpy as np
from sklearn.decomposition import PCA

from search._design import Design
from search.fusion._base import Fusion, register_fusion
from search.fusion.hybrid._trees import TREE_FIELDS, Timer, fit_and_score


@register_fusion
class GbdtOnEmbedding(Fusion):
    """Trees on [numeric columns; PCA_k(pool(backbone(image)))]: a low-dimensional image embedding as features.

    The backbone's pooled features (from the feature cache when the backbone is frozen with fixed
    weights) are reduced to ``embedding_dims`` components by a PCA fit on the training fold only, then
    gradient-boosted trees see them beside the numeric columns — the usual way to give tabular
    learners an image (e.g. AutoGluon's multimodal feature extraction for tree models).
    """

    name = "gbdt_on_embedding"
    neural = False
    reads = (*TREE_FIELDS, "embedding_dims")
    optional = reads

    @staticmethod
    def network_design(design: Design) -> None:
        return None  # the backbone only runs inference (batch 64); the trees train on the CPU

    @staticmethod
    def train_fold(design: Design, data, train_idx, val_idx, seed: int, on_epoch=None):
        from search._train import FoldResult, fold_auc

        with Timer() as timer:
            pooled = pooled_features(design, data, seed)
            pca = PCA(n_components=min(design.embedding_dims, len(train_idx) - 1, pooled.shape[1]),
                      random_state=seed % 2**31).fit(pooled[train_idx])
            train_x = np.column_stack([data.numeric[train_idx], pca.transform(pooled[train_idx])])
            val_x = np.column_stack([data.numeric[val_idx], pca.transform(pooled[val_idx])])
            scores, iterations = fit_and_score(design, train_x, data.labels[train_idx], val_x, seed)
        return FoldResult(fold_auc(data.labels[val_idx], scores), scores, iterations, timer.seconds)


def pooled_features(design: Design, data, seed: int) -> np.ndarray:
    """Global-average-pooled backbone feature maps of every row (no labels involved)."""
    maps = data.image_features
    if maps is None:
        import keras

        from search._model import feature_extractor

        keras.utils.set_random_seed(seed)  # random-weight backbones: reproducible per fold seed
        maps = feature_extractor(design).predict(data.images, batch_size=64, verbose=0)
    return np.asarray(maps, dtype=np.float32).mean(axis=(1, 2))
