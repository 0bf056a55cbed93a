"""What a table may contain: string columns are categorical (blanks a category of their own), numbers numeric,
names on the command line win, identifiers are refused, and a stray word in a numeric column is a typo."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fusion_search import UserError
from fusion_search.data import CategoryEncoder, ManifestSpec, read_manifest
from tests.conftest import write_manifest


def table(tmp_path, n=30, **columns):
    rows = [{"image": f"i/{i}.png", "label": i % 2, **{k: v(i) for k, v in columns.items()}} for i in range(n)]
    return write_manifest(tmp_path, rows)


def test_string_columns_are_categorical_and_blanks_are_their_own_category(tmp_path):
    path = table(tmp_path, sex=lambda i: ["male", "female", ""][i % 3], age=lambda i: "" if i == 4 else 40 + i)
    manifest = read_manifest(path)
    assert manifest.numeric_columns == ("age",) and manifest.categorical_columns == ("sex",)
    assert manifest.categorical[:3, 0].tolist() == ["male", "female", ""] and np.isnan(manifest.numeric[4, 0])
    assert manifest.category_sizes == (4,)  # three categories and the unknown bucket


def test_named_columns_win_and_ignored_columns_are_not_features(tmp_path):
    path = table(tmp_path, site=lambda i: i % 4 + 1, age=lambda i: 40 + i, note=lambda i: f"seen by dr {i % 3}")
    manifest = read_manifest(path, ManifestSpec(categorical_columns=("site",), ignore_columns=("note",)))
    assert manifest.numeric_columns == ("age",) and manifest.categorical_columns == ("site",)
    only = read_manifest(path, ManifestSpec(numeric_columns=("age",)))  # the features are exactly the named ones
    assert only.numeric_columns == ("age",) and only.categorical_columns == ()


def test_an_identifier_column_is_refused_with_what_to_do_instead(tmp_path):
    path = table(tmp_path, n=40, patient_id=lambda i: f"P{1000 + i}", age=lambda i: 30 + i % 7)
    with pytest.raises(UserError) as refused:
        read_manifest(path)
    message = str(refused.value)
    assert "column 'patient_id' has a different value on almost every row (40 distinct in 40 rows)" in message
    assert "--group-column" in message and "--ignore-columns patient_id" in message and "\n" not in message
    assert read_manifest(path, ManifestSpec(group_column="patient_id")).groups[0] == "P1000"


def test_a_word_among_numbers_is_a_typo_named_by_row(tmp_path):
    path = table(tmp_path, weight=lambda i: "heavy" if i == 7 else 60 + i)
    with pytest.raises(UserError, match=r"numeric column 'weight' has a non-numeric value 'heavy' on row 9 "
                                        r"\(a categorical column\? name it with --categorical-columns\)"):
        read_manifest(path)


def test_a_dataframe_with_strings_nans_and_numbers_reads_like_its_csv(tmp_path):
    path = table(tmp_path, sex=lambda i: ["m", "f", ""][i % 3], age=lambda i: "" if i == 2 else 40 + i)
    frame = pd.read_csv(path)
    assert frame["sex"].isna().any()  # pandas reads the blanks as NaN
    from_csv, from_frame = read_manifest(path), read_manifest(frame)
    assert from_frame.categorical.tolist() == from_csv.categorical.tolist()
    assert from_frame.fingerprint != "" and np.array_equal(from_frame.numeric, from_csv.numeric, equal_nan=True)


def test_the_encoder_learns_categories_on_training_rows_and_has_an_unknown_bucket():
    train = np.array([["m", "a"], ["f", "b"], ["", "a"]], dtype=object)
    encoder = CategoryEncoder.fit(train)
    codes = encoder.codes(np.array([["f", "zzz"], ["never seen", "b"]], dtype=object))
    assert codes.tolist() == [[2, 0], [0, 2]] and encoder.sizes == (4, 3)
    assert encoder.mappings() == [{"": 1, "f": 2, "m": 3}, {"a": 1, "b": 2}]
    trees = encoder.tree_codes(np.array([["m", "zzz"]], dtype=object))
    assert trees[0, 0] == 2 and np.isnan(trees[0, 1])  # unknown is missing for the trees
