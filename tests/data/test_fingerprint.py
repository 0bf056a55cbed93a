"""The data fingerprint: its value is the one full read of every image gives (studies made before keep matching
their data), but an unchanged image is not read again on the next start."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from fusion_search.data import read_manifest
from tests.conftest import manifest_rows, write_rows


def full_read_fingerprint(manifest) -> str:
    """The fingerprint as it was always computed: one SHA-256 over the table's values and every image's bytes."""
    digest = hashlib.sha256()
    digest.update(manifest.labels.tobytes())
    digest.update(np.nan_to_num(manifest.numeric, nan=-1.2345e30).tobytes())
    digest.update("\x1f".join(manifest.numeric_columns).encode())
    for path in manifest.image_paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"<unreadable>")
    return digest.hexdigest()[:16]


@pytest.fixture
def dataset(demo_manifest, tmp_path, monkeypatch):
    """A private copy of the demo data (its files get touched and changed) and an empty cache."""
    monkeypatch.setenv("FUSION_SEARCH_CACHE", str(tmp_path / "cache"))
    folder = tmp_path / "data"
    shutil.copytree(demo_manifest.parent, folder)
    return folder / demo_manifest.name


@pytest.fixture
def image_reads(monkeypatch):
    """The image files read, in order (every read of a .png through Path.read_bytes)."""
    reads: list[str] = []
    original = Path.read_bytes

    def counting(self):
        if self.suffix == ".png":
            reads.append(self.name)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    return reads


def test_the_fingerprint_is_the_full_read_value_on_a_first_and_a_later_start(dataset):
    first = read_manifest(dataset)
    assert first.fingerprint == full_read_fingerprint(first)
    assert read_manifest(dataset).fingerprint == first.fingerprint


def test_a_first_start_reads_each_image_once(dataset, image_reads):
    manifest = read_manifest(dataset)
    assert sorted(image_reads) == sorted(path.name for path in manifest.image_paths)


def test_an_unchanged_dataset_is_not_read_again(dataset, image_reads):
    before = read_manifest(dataset).fingerprint
    image_reads.clear()
    assert read_manifest(dataset).fingerprint == before
    assert image_reads == []


def test_a_touched_but_unchanged_image_is_read_alone_and_keeps_the_fingerprint(dataset, image_reads):
    manifest = read_manifest(dataset)
    touched = manifest.image_paths[7]
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))
    image_reads.clear()
    assert read_manifest(dataset).fingerprint == manifest.fingerprint
    assert image_reads == [touched.name]
    image_reads.clear()
    read_manifest(dataset)
    assert image_reads == []  # and its new time is remembered


def test_a_changed_image_changes_the_fingerprint_to_the_full_read_value(dataset):
    manifest = read_manifest(dataset)
    changed = manifest.image_paths[2]
    changed.write_bytes(manifest.image_paths[3].read_bytes())  # another image's content: size changes too
    again = read_manifest(dataset)
    assert again.fingerprint != manifest.fingerprint
    assert again.fingerprint == full_read_fingerprint(again)
    changed.write_bytes(manifest.image_paths[4].read_bytes())
    third = read_manifest(dataset)
    assert third.fingerprint == full_read_fingerprint(third) and third.fingerprint != again.fingerprint


def test_changing_an_image_back_finds_the_earlier_fingerprint_without_a_full_read(dataset, image_reads):
    manifest = read_manifest(dataset)
    changed = manifest.image_paths[5]
    original = changed.read_bytes()
    changed.write_bytes(original + b"\0")
    read_manifest(dataset)
    changed.write_bytes(original)
    image_reads.clear()
    assert read_manifest(dataset).fingerprint == manifest.fingerprint
    assert image_reads == [changed.name]


def test_a_missing_image_hashes_as_before(dataset, tmp_path):
    rows = manifest_rows(dataset)
    rows[4]["image"] = str(tmp_path / "gone.png")
    path = write_rows(tmp_path / "missing.csv", rows)
    manifest = read_manifest(path)
    assert manifest.fingerprint == full_read_fingerprint(manifest)
    assert read_manifest(path).fingerprint == manifest.fingerprint


def test_a_lost_or_broken_memo_only_costs_a_full_read(dataset, tmp_path):
    expected = read_manifest(dataset).fingerprint
    for memo in (tmp_path / "cache" / "fingerprints").glob("*.json"):
        memo.write_text("{not json")
    assert read_manifest(dataset).fingerprint == expected
    shutil.rmtree(tmp_path / "cache")
    assert read_manifest(dataset).fingerprint == expected
