"""What a table may contain: string columns are categorical (blanks a category of their own), numbers numeric,
names on the command line win, identifiers and blank columns are refused, and a stray word in a numeric column is a
typo. A category, a label and a group keep their text as written, the same from a CSV and a DataFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fusion_search import UserError
from fusion_search.data import CategoryEncoder, ManifestSpec, cell_text, read_manifest
from tests.conftest import write_manifest

PANDAS_AS_WRITTEN = dict(dtype=str, keep_default_na=False, na_values=[""])  # the README's way to hold the file's text


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


def test_a_missing_value_is_the_blank_category_and_a_word_that_spells_missing_is_text(tmp_path):
    frame = pd.DataFrame({"image": [f"i/{i}.png" for i in range(8)], "label": [0, 1] * 4,
                          "site": pd.array(["a", pd.NA, "b", None, "NA", "None", float("nan"), "n/a"], dtype=object)})
    frame.to_csv(tmp_path / "m.csv", index=False)
    spec = ManifestSpec(categorical_columns=("site",))
    from_frame, from_csv = read_manifest(frame, spec), read_manifest(tmp_path / "m.csv", spec)
    assert from_frame.categorical[:, 0].tolist() == ["a", "", "b", "", "NA", "None", "", "n/a"]
    assert from_csv.categorical.tolist() == from_frame.categorical.tolist()
    as_text = pd.read_csv(tmp_path / "m.csv", **PANDAS_AS_WRITTEN)
    assert read_manifest(as_text, spec).categorical.tolist() == from_csv.categorical.tolist()


def test_a_number_is_the_shortest_text_of_its_own_dtype():
    assert [cell_text(np.float32(0.1)), cell_text(np.float16(0.1)), cell_text(0.1)] == ["0.1", "0.1", "0.1"]
    assert [cell_text(np.float32(7.0)), cell_text(np.int8(7)), cell_text("7.0"), cell_text(7)] == ["7"] * 4


@pytest.mark.parametrize("dtype", ["float32", "Float32", "float16"])
def test_a_category_of_narrow_floats_reads_as_the_csv_pandas_writes_of_it(tmp_path, dtype):
    frame = pd.DataFrame({"image": [f"i/{i}.png" for i in range(8)], "label": [0, 1] * 4,
                          "dose": pd.array([0.1, 0.2, 0.5, 0.7, None, 2.5, 0.1, 7.0], dtype=dtype)})
    frame.to_csv(tmp_path / "m.csv", index=False)
    spec = ManifestSpec(categorical_columns=("dose",))
    from_frame, from_csv = read_manifest(frame, spec), read_manifest(tmp_path / "m.csv", spec)
    assert from_csv.categorical[:, 0].tolist() == ["0.1", "0.2", "0.5", "0.7", "", "2.5", "0.1", "7"]
    assert from_frame.categorical.tolist() == from_csv.categorical.tolist()


def codes_frame(n=12):
    """Distinct codes that are equal as numbers (ZIP codes, ICD codes, patients), as strings."""
    codes = ["007", "7", "0070", "07.0"]
    return pd.DataFrame({"image": [f"i/{i}.png" for i in range(n)], "label": [codes[i % 2] for i in range(n)],
                         "zip": [codes[i % 4] for i in range(n)], "patient": [codes[i % 4] for i in range(n)],
                         "word": ["a", "b", "007", "7"] * (n // 4)})


def codes_data(folder, source: str):
    """codes_frame as a CSV, as that CSV read by pandas the README's way, or as a DataFrame of strings."""
    frame = codes_frame()
    frame.to_csv(folder / "m.csv", index=False)
    if source == "csv":
        return folder / "m.csv"
    if source == "read_csv as written":
        return pd.read_csv(folder / "m.csv", **PANDAS_AS_WRITTEN)
    return frame.astype({column: source for column in frame.columns[1:]})


@pytest.mark.parametrize("source", ["csv", "object", "string", "read_csv as written"])
def test_a_declared_category_the_group_the_label_and_a_string_column_keep_their_text_exactly(tmp_path, source):
    spec = ManifestSpec(categorical_columns=("zip",), group_column="patient", positive="007")
    manifest = read_manifest(codes_data(tmp_path, source), spec)
    assert manifest.categorical_columns == ("zip", "word")  # word: a string column, not named
    assert manifest.categorical[:4].tolist() == [["007", "a"], ["7", "b"], ["0070", "007"], ["07.0", "7"]]
    assert manifest.groups[:4].tolist() == ["007", "7", "0070", "07.0"]  # four patients, not one
    assert [name for name, _ in manifest.classes] == ["007", "7"] and manifest.labels[:2].tolist() == [1, 0]


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


def test_a_column_blank_on_every_row_is_refused_naming_it(tmp_path):
    path = table(tmp_path, age=lambda i: 40 + i % 7, notes=lambda i: ["", "NA", "  "][i % 3])
    with pytest.raises(UserError) as refused:
        read_manifest(path)
    assert str(refused.value) == ("column 'notes' is blank on every row: there is nothing to learn from it; leave it "
                                  "out with --ignore-columns notes")
    with pytest.raises(UserError, match=r"^column 'notes' is blank on every row: .* leave it out of "
                                        r"--numeric-columns$"):
        read_manifest(path, ManifestSpec(numeric_columns=("age", "notes")))
    assert read_manifest(path, ManifestSpec(ignore_columns=("notes",))).numeric_columns == ("age",)


def test_a_run_on_a_blank_column_stops_in_one_line_before_any_study_or_file_exists(tmp_path, tiny_space,
                                                                                    monkeypatch, capsys):
    from fusion_search.cli import main

    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path / "cache"))
    rows = [{"image": f"i/{i}.png", "label": i % 2, "age": 40 + i % 7, "notes": ""} for i in range(30)]
    path = write_manifest(tmp_path / "data", rows, [np.full((8, 8, 3), i, dtype=np.uint8) for i in range(30)])
    db = tmp_path / "study.db"
    assert main(["run", "--data", str(path), "--study", "blank", "--storage", f"sqlite:///{db}", "--trials", "1",
                 "--space", str(tiny_space), "--confirm-repeats", "0", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("fusion-search: error: column 'notes' is blank on every row: there is nothing to learn from it; "
                   "leave it out with --ignore-columns notes")
    assert not db.exists() and not (tmp_path / "cache").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]
