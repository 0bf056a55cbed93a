"""What an export remembers for `predict` is read whole or not at all: an export made before provenance has none,
and a damaged one stops with one line naming the file and the problem (never a silent None, which would score a
K-class model into p_0..p_K columns with no AUC)."""

from __future__ import annotations

import json
import zipfile

import pytest

from fusion_search import UserError
from fusion_search.serving import read_provenance

GOOD = {"label_column": "label", "positive": "", "classes": ["a", "b", "c"]}


def keras_file(path, entry: bytes | None):
    """A zip like a .keras archive, with (or without) the fusion_search.json entry."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", "{}")
        if entry is not None:
            archive.writestr("fusion_search.json", entry)
    return path


def export_folder(path, meta: str, text: str):
    path.mkdir()
    (path / meta).write_text(text, encoding="utf-8")
    return path


def test_an_export_holds_its_provenance_and_one_made_before_it_has_none(tmp_path):
    assert read_provenance(keras_file(tmp_path / "m.keras", json.dumps(GOOD).encode())) == GOOD
    assert read_provenance(export_folder(tmp_path / "m.fusion", "design.json", json.dumps({"provenance": GOOD})))
    assert read_provenance(keras_file(tmp_path / "old.keras", None)) is None
    assert read_provenance(export_folder(tmp_path / "old.ensemble", "ensemble.json", '{"members": []}')) is None


@pytest.mark.parametrize("make, problem", [
    (lambda tmp: keras_file(tmp / "m.keras", b'{"classes": ["a", "b"'),
     "fusion_search.json is not valid JSON (Expecting ',' delimiter: line 1 column 22 (char 21))"),
    (lambda tmp: keras_file(tmp / "m.keras", b'\xff\xfe{}'), "fusion_search.json is not valid JSON"),
    (lambda tmp: keras_file(tmp / "m.keras", b'["a", "b"]'), "fusion_search.json holds a list, not an object"),
    (lambda tmp: (tmp / "m.keras").write_bytes(b"not a zip") and tmp / "m.keras", "not a readable archive"),
    (lambda tmp: export_folder(tmp / "m.fusion", "design.json", '{"provenance": {"classes": '),
     "design.json is not valid JSON"),
    (lambda tmp: export_folder(tmp / "m.ensemble", "ensemble.json", '{"provenance": "a, b"}'),
     "ensemble.json holds a provenance that is a str, not an object"),
], ids=["truncated", "not-utf8", "a-list", "not-a-zip", "folder-truncated", "not-an-object"])
def test_a_damaged_provenance_stops_in_one_line_naming_the_file_and_the_problem(tmp_path, make, problem):
    path = make(tmp_path)
    with pytest.raises(UserError) as refused:
        read_provenance(path)
    message = str(refused.value)
    assert message.startswith(f"cannot read what export {path} remembers: ") and problem in message, message
    assert "\n" not in message
