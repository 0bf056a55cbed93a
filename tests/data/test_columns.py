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
    path = table(tmp_path, sex=lambda i: ["male", "female", ""][i % 3], age=lambda i: "" if i == 4 else 40 + i // 2)
    manifest = read_manifest(path)
    assert manifest.numeric_columns == ("age",) and manifest.categorical_columns == ("sex",)
    assert manifest.categorical[:3, 0].tolist() == ["male", "female", ""] and np.isnan(manifest.numeric[4, 0])
    assert manifest.category_sizes == (4,)  # three categories and the unknown bucket


def test_named_columns_win_and_ignored_columns_are_not_features(tmp_path):
    path = table(tmp_path, site=lambda i: i % 4 + 1, age=lambda i: 40 + i // 2, note=lambda i: f"seen by dr {i % 3}")
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
    path = table(tmp_path, sex=lambda i: ["m", "f", ""][i % 3], age=lambda i: "" if i == 2 else 40 + i // 2)
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


def clinic_frame(n=40):
    """A code column with one blank (pandas makes it float), as text and numbers mixed in the CSV's way."""
    return pd.DataFrame({"image": [f"i/{i}.png" for i in range(n)], "label": [i % 2 for i in range(n)],
                         "clinic": [None if i == 3 else i % 3 + 1 for i in range(n)],
                         "age": [None if i == 5 else 40 + i % 9 for i in range(n)]})


@pytest.mark.parametrize("dtype", ["object", "float", "Int64", "string"])
def test_a_category_reads_the_same_from_a_csv_and_from_a_dataframe_of_any_dtype(tmp_path, dtype):
    frame = clinic_frame()
    path = tmp_path / "m.csv"
    frame.to_csv(path, index=False)  # the blank clinic makes pandas write 1.0, 2.0, 3.0
    typed = frame.assign(clinic=frame["clinic"].astype(dtype), age=frame["age"].astype(dtype))
    if dtype == "string":
        typed["age"] = frame["age"].astype("Int64")  # a numeric column stays numbers
    spec = ManifestSpec(categorical_columns=("clinic",))
    from_csv, from_frame = read_manifest(path, spec), read_manifest(typed, spec)
    assert from_csv.categorical[:4, 0].tolist() == ["1", "2", "3", ""]
    assert from_frame.categorical.tolist() == from_csv.categorical.tolist()
    assert np.array_equal(from_frame.numeric, from_csv.numeric, equal_nan=True) and np.isnan(from_frame.numeric[5, 0])
    encoder = CategoryEncoder.fit(from_csv.categorical)
    assert np.array_equal(encoder.codes(from_frame.categorical), encoder.codes(from_csv.categorical))


def test_every_missing_marker_is_the_blank_category(tmp_path):
    frame = pd.DataFrame({"image": [f"i/{i}.png" for i in range(8)], "label": [0, 1] * 4,
                          "site": pd.array(["a", pd.NA, "b", None, "NA", "<NA>", float("nan"), "a"], dtype=object)})
    manifest = read_manifest(frame, ManifestSpec(categorical_columns=("site",)))
    assert manifest.categorical[:, 0].tolist() == ["a", "", "b", "", "", "", "", "a"]


def test_an_integer_id_column_is_refused_like_a_text_one_unless_named_numeric(tmp_path):
    path = table(tmp_path, n=40, patient_id=lambda i: 5000 + i, age=lambda i: 30 + i % 7)
    with pytest.raises(UserError) as refused:
        read_manifest(path)
    message = str(refused.value)
    assert "column 'patient_id' has a different value on almost every row (40 distinct in 40 rows)" in message
    assert "--ignore-columns patient_id" in message and "--numeric-columns" in message and "\n" not in message
    kept = read_manifest(path, ManifestSpec(numeric_columns=("patient_id", "age")))
    assert kept.numeric_columns == ("patient_id", "age")


def test_a_measurement_distinct_on_every_row_is_not_an_id(tmp_path):
    path = table(tmp_path, n=40, weight=lambda i: f"{60 + i * 0.37:.2f}")
    assert read_manifest(path).numeric_columns == ("weight",)
