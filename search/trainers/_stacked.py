from dataclasses import replace

import numpy as np

from fusion_search.data import SearchData, inner_folds
from fusion_search.designs import Design, get_kind
from fusion_search.trainers._fold import FoldData, FoldResult, fold_auc
from fusion_search.trainers._neural import NeuralTrainer, train_fold
from fusion_search.trainers._trees import Timer, fit_and_score


class Stacked:
    """Stacked late fusion: trees on [numeric columns; s_img], s_img an image model's out-of-fold score (K class
    probabilities for K classes).

    Stacked generalisation (Wolpert 1992), as AutoGluon ensembles tree and neural models. Leakage-free:
    inside each training fold, ``stacked_inner_folds`` inner folds give every training row an image
    score from a model that never saw it, and the trees fit on those. The scored fold's image score
    is the mean of the same inner models' scores (K-fold cross-fitting), so the trees see scores of
    one scale in training and scoring. The scored fold is never trained on. The image model is this
    trial's image branch trained as ``image_only``.
    """

    @staticmethod
    def fold_data(data: SearchData, design: Design) -> FoldData:
        return NeuralTrainer.fold_data(data, image_design(design))  # numbers come along for the trees

    @staticmethod
    def train_fold(design: Design, data: FoldData, train_idx, val_idx, seed: int, on_epoch=None) -> FoldResult:
        with Timer() as timer:
            inner_scores, val_scores = cross_fit_image_scores(image_design(design), data, train_idx, val_idx, seed,
                                                              on_epoch)
            image_score = np.full((len(data.labels), *class_width(data)), np.nan)
            image_score[train_idx], image_score[val_idx] = inner_scores, val_scores
            scores, iterations = fit_and_score(design, data, train_idx, val_idx, seed, image_score)
        return FoldResult(fold_auc(data.labels[val_idx], scores), scores, iterations, timer.seconds)


def class_width(data: FoldData) -> tuple[int, ...]:
    """The shape of one row's image score: () for two classes, (K,) for K."""
    return () if data.n_classes == 2 else (data.n_classes,)


def image_design(design: Design) -> Design:
    """The image model a stacked design trains: its own network kind (image_only) with the trial's fields."""
    return replace(design, fusion=get_kind(design.fusion).network_kind().name)


def cross_fit_image_scores(image_design: Design, data: FoldData, train_idx, val_idx, seed: int, on_epoch=None):
    """(out-of-fold image scores of the training rows, mean inner-model image score of the scored rows),
    from inner folds of the training fold only: one score a row, or K class probabilities a row."""
    position = {row: i for i, row in enumerate(train_idx)}
    width = class_width(data)
    inner_scores, val_scores = np.empty((len(train_idx), *width)), np.zeros((len(val_idx), *width))
    folds = inner_folds(data.labels, train_idx, image_design.stacked_inner_folds, seed, data.groups)
    for inner, (fit_rows, held_rows) in enumerate(folds):
        scored = np.concatenate([held_rows, val_idx])  # one model scores its held-out rows and the fold
        result = train_fold(image_design, data, fit_rows, scored, seed + 1 + inner, on_epoch)
        inner_scores[[position[row] for row in held_rows]] = result.scores[:len(held_rows)]
        val_scores += result.scores[len(held_rows):] / image_design.stacked_inner_folds
    return inner_scores, val_scores
