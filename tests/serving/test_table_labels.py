"""predict's AUC labels: the export's positive class against the rest, after the export's merges; no AUC (a
note instead) where the rows hold a class the model never saw."""

from __future__ import annotations

import pandas as pd

from fusion_search.data import read_table
from fusion_search.serving import table_labels


def _table(labels):
    return read_table(pd.DataFrame({"image": [f"{i}.png" for i in range(len(labels))], "label": labels}))


def test_a_positive_exported_as_written_in_the_table_still_matches(capsys):
    """Exports before the label values were read as cells stored the positive class as the CSV wrote it."""
    assert table_labels(_table(["0.0", "1.0", "1.0"]), "label", "1.0").tolist() == [0, 1, 1]


def test_a_batch_without_one_merged_class_is_still_scored():
    labels = table_labels(_table(["pos", "neg", "pos"]), "label", "pos+unsure", [["pos", "unsure"]],
                          ["neg", "pos+unsure"])
    assert labels.tolist() == [1, 0, 1]


def test_a_class_the_model_never_saw_gives_no_auc_and_says_so(capsys):
    assert table_labels(_table([0, 1, 2, 1]), "label", "1", None, ["0", "1"]) is None
    assert "classes the model never saw (2); AUC not computed" in capsys.readouterr().out
    assert table_labels(_table([0, 1, 2, 1]), "label", "1") is None  # an export that records no classes
    assert "more than two classes" in capsys.readouterr().out


def test_one_class_against_the_rest_of_several_the_model_knew():
    assert table_labels(_table(["a", "b", "c"]), "label", "b", None, ["a", "b", "c"]).tolist() == [0, 1, 0]


def test_a_k_class_model_reads_each_rows_class_index_and_one_class_against_the_rest_when_asked():
    classes = ["akiec", "bcc", "bkl"]
    table = _table(["bkl", "akiec", "bcc", "bkl"])
    assert table_labels(table, "label", None, None, classes, multiclass=True).tolist() == [2, 0, 1, 2]
    assert table_labels(table, "label", "bkl", None, classes, multiclass=True).tolist() == [1, 0, 0, 1]


def test_the_k_class_auc_is_the_macro_over_the_classes_present_with_each_named():
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from fusion_search.serving import auc_in_words

    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    scores = rng.dirichlet(np.ones(3), 60) + np.eye(3)[labels] * rng.random((60, 1))
    scores /= scores.sum(axis=1, keepdims=True)  # probabilities, as scikit-learn's multi_class="ovr" needs
    words = auc_in_words(labels, scores, "dx", ["a", "b", "c"])
    macro = roc_auc_score(labels, scores, multi_class="ovr", average="macro")
    assert words.startswith(f"macro one-vs-rest ROC AUC against column 'dx': {macro:.4f} (per class: a 0.")
    absent = auc_in_words(labels[labels < 2], scores[labels < 2], "dx", ["a", "b", "c"])
    assert "over the 2 of 3 classes present" in absent and "c 0." not in absent
    assert auc_in_words((labels == 2).astype(int), scores, "dx", ["a", "b", "c"], positive="c") == (
        f"ROC AUC against column 'dx': {roc_auc_score(labels == 2, scores[:, 2]):.4f}")


def test_k_class_predictions_are_a_probability_column_per_class_and_the_most_probable(tmp_path):
    import csv

    import numpy as np

    from fusion_search.serving import write_predictions

    table = read_table(pd.DataFrame({"image": ["0.png", "1.png"], "p_bcc": ["x", "y"]}))
    write_predictions(tmp_path / "p.csv", table, np.array([[0.2, 0.7, 0.1], [0.5, 0.2, 0.3]]), ["akiec", "bcc", "bkl"])
    rows = list(csv.DictReader((tmp_path / "p.csv").open()))
    assert list(rows[0]) == ["image", "p_bcc", "p_akiec", "fusion_search_p_bcc", "p_bkl", "predicted"]
    assert [row["predicted"] for row in rows] == ["bcc", "akiec"] and rows[1]["p_akiec"] == "0.500000"
