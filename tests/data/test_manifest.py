"""Reading a manifest: columns, labels, numbers, image paths, and every bad input named in one line."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest

from fusion_search import UserError
from fusion_search.data import ManifestSpec, decode_images, read_manifest
from tests.conftest import write_manifest


def _rows(n=8, **extra):
    return [{"image": f"img/{i}.png", "label": i % 2, "x": i * 1.5, "y": "" if i % 4 else i, **extra}
            for i in range(n)]


def _images(n=8, size=8):
    return [np.full((size, size, 3), i * 10, dtype=np.uint8) for i in range(n)]


def test_every_other_column_is_numeric_and_blanks_are_missing(tmp_path):
    manifest = read_manifest(write_manifest(tmp_path, _rows(), _images()))
    assert manifest.numeric_columns == ("x", "y")
    assert manifest.numeric[3, 0] == pytest.approx(4.5)
    assert manifest.numeric[4, 1] == 4 and all(math.isnan(v) for v in manifest.numeric[[1, 2, 3, 5], 1])
    assert manifest.labels.tolist() == [0, 1] * 4


def test_image_paths_are_relative_to_the_manifest_folder_and_absolute_paths_stay(tmp_path):
    rows = _rows()
    rows[0]["image"] = str(tmp_path / "img" / "0.png")
    path = write_manifest(tmp_path, rows, _images())
    manifest = read_manifest(path)
    assert manifest.image_paths[1] == tmp_path / "img" / "1.png"
    assert manifest.image_paths[0] == tmp_path / "img" / "0.png"
    assert decode_images(manifest.image_paths, 4).shape == (8, 4, 4, 3)


def test_named_columns_and_positive_value(tmp_path):
    rows = [{"picture": f"img/{i}.png", "outcome": "sick" if i % 2 else "well", "age": i, "noise": 1}
            for i in range(8)]
    spec = ManifestSpec(image_column="picture", label_column="outcome", numeric_columns=("age",), positive="sick")
    manifest = read_manifest(write_manifest(tmp_path, rows, _images(), image_column="picture"), spec)
    assert manifest.numeric_columns == ("age",)
    assert manifest.labels.tolist() == [0, 1] * 4


def test_fingerprint_changes_with_image_content(tmp_path):
    path = write_manifest(tmp_path, _rows(), _images())
    before = read_manifest(path).fingerprint
    write_manifest(tmp_path, _rows(), [img + 1 for img in _images()])
    assert read_manifest(path).fingerprint != before


@pytest.mark.parametrize("change, spec_kwargs, message", [
    (lambda rows: None, {"path": "missing.csv"}, "manifest not found"),
    (lambda rows: [r.pop("image") for r in rows], {}, "no column 'image'"),
    (lambda rows: [r.pop("label") for r in rows], {}, "no column 'label'"),
    (lambda rows: rows[5].update(x="tall"), {}, "non-numeric value 'tall' on row 7"),
    (lambda rows: [r.update(label=1) for r in rows], {}, "holds one class only: '1' on all 8 rows; a classifier "
                                                         "needs two classes (is --label-column the column"),
    (lambda rows: None, {"positive": "yes"}, "--positive 'yes' is not a class"),
    (lambda rows: None, {"numeric_columns": ("x", "z")}, "no column(s) z (--numeric-columns)"),
    (lambda rows: [r.update(label="a" if i % 2 else "b") for i, r in enumerate(rows)], {}, "--positive VALUE"),
])
def test_bad_manifest_is_one_clear_error(tmp_path, change, spec_kwargs, message):
    rows = _rows()
    change(rows)
    path = write_manifest(tmp_path, rows, None)
    if spec_kwargs.pop("path", None) == "missing.csv":
        path = tmp_path / "missing.csv"
    with pytest.raises(UserError, match=None) as raised:
        read_manifest(path, ManifestSpec(**spec_kwargs))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_missing_and_unreadable_images_are_named_by_row(tmp_path):
    path = write_manifest(tmp_path, _rows(), _images())
    (tmp_path / "img" / "2.png").unlink()
    (tmp_path / "img" / "5.png").write_bytes(b"not a png")
    with pytest.raises(UserError) as raised:
        decode_images(read_manifest(path).image_paths, 8)
    text = str(raised.value)
    assert "2 image(s)" in text and "row 4 (2.png: missing)" in text and "row 7 (5.png: not an image)" in text


def test_a_header_naming_a_column_twice_is_refused_naming_it(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image,label,x0,x0\nimg/0.png,0,1,2\nimg/1.png,1,3,4\n")
    with pytest.raises(UserError, match=r"^manifest \S+ names column 'x0' more than once: rename or drop one of them$"):
        read_manifest(path)
    frame = pd.DataFrame([["img/0.png", 0, 1, 2]], columns=["image", "label", "x0", "x0"])
    with pytest.raises(UserError, match="the DataFrame names column 'x0' more than once"):
        read_manifest(frame)


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_semicolon_or_tab_separated_file_reads_like_its_comma_twin(tmp_path, separator):
    rows = [["image", "label", "x0", "site"]] + [[f"img/{i}.png", i % 2, f"{i * 1.5}", "a,b" if i % 3 else "c"]
                                                for i in range(6)]
    comma, other = tmp_path / "comma.csv", tmp_path / "other.csv"
    with comma.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with other.open("w", newline="") as handle:
        csv.writer(handle, delimiter=separator).writerows(rows)
    first, second = read_manifest(comma), read_manifest(other)
    assert second.numeric_columns == ("x0",) and second.categorical_columns == ("site",)
    assert np.array_equal(first.numeric, second.numeric) and first.categorical.tolist() == second.categorical.tolist()


def test_a_semicolon_file_the_sniffer_cannot_read_is_named_as_such(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image;label;weight,kg\nimg/0.png;0;1,5\nimg/1.png;1;2,5\n")  # a decimal comma in the header
    with pytest.raises(UserError, match=r"has no column 'image' .* \(the file looks ;-separated: write it with commas\)$"):
        read_manifest(path)
