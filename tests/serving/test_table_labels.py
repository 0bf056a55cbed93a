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
