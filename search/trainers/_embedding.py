from dataclasses import replace

import numpy as np
from sklearn.decomposition import PCA

from fusion_search.data import SearchData, row_chunks
from fusion_search.designs import DESCRIPTORS, Design
from fusion_search.models import feature_extractor, keras
from fusion_search.trainers._features import feature_chunks, image_features
from fusion_search.trainers._fold import FoldData, FoldResult, fold_auc
from fusion_search.trainers._trees import Timer, fit_and_score


class GbdtOnEmbedding:
    """Trees on [numeric columns; PCA_k(pool(backbone(image)))]: a low-dimensional image embedding as features.

    The backbone's pooled features (from the feature cache when the backbone is frozen with fixed
    weights) are reduced to ``embedding_dims`` components by a PCA fit on the training fold only, then
    gradient-boosted trees see them beside the numeric columns — the usual way to give tabular
    learners an image (e.g. AutoGluon's multimodal feature extraction for tree models).
    """

    @staticmethod
    def fold_data(data: SearchData, design: Design) -> FoldData:
        features = image_features(data, replace(design, trainable_blocks=0, augmentation="none"))  # inference only
        if features is not None:
            return FoldData.of(data.manifest, image_features=features)
        return FoldData.of(data.manifest, data.images(design.image_size))

    @staticmethod
    def train_fold(design: Design, data: FoldData, train_idx, val_idx, seed: int, on_epoch=None) -> FoldResult:
        with Timer() as timer:
            pooled = pooled_features(design, data, seed)
            if design.backbone == DESCRIPTORS:  # a few dozen designed features: the trees take them as they are
                embedding = pooled
            else:
                pca = PCA(n_components=min(design.embedding_dims, len(train_idx) - 1, pooled.shape[1]),
                          random_state=seed % 2**31).fit(pooled[train_idx])
                embedding = pca.transform(pooled)  # PCA fit on the training rows only
            scores, iterations = fit_and_score(design, data, train_idx, val_idx, seed, embedding)
        return FoldResult(fold_auc(data.labels[val_idx], scores), scores, iterations, timer.seconds)


def pooled_features(design: Design, data: FoldData, seed: int) -> np.ndarray:
    """Global-average-pooled backbone feature maps of every row (no labels involved), a chunk of rows at a time."""
    maps = data.image_features
    if maps is not None and maps.ndim == 2:  # descriptors: a vector per image already
        return np.asarray(maps, dtype=np.float32)
    if maps is not None:
        return np.concatenate([chunk.mean(axis=(1, 2), dtype=np.float32) for chunk in row_chunks(maps)])
    keras.utils.set_random_seed(seed)  # random-weight backbones: reproducible per fold seed
    extractor = feature_extractor(design)
    return np.concatenate([chunk.mean(axis=(1, 2)) for chunk in feature_chunks(extractor, data.images)])
