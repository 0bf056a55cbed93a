"""Bad storage input: one line on stderr, exit code 2, the password never shown."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from fusion_search.cli import main

pytestmark = pytest.mark.distributed

SECRET = "s3cr3t-Pa55"
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"))), None) if Path("/usr/lib/postgresql").exists() else None


def run_worker(capsys, manifest, space, *extra) -> tuple[int, str]:
    code = main(["run", "--data", str(manifest), "--space", str(space), "--study", "dist", "--trials", "1",
                 "--folds", "2", "--quiet", *extra])
    return code, capsys.readouterr().err


def assert_one_line_error(code: int, err: str, *expected: str) -> None:
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fusion-search: error: "), err
    assert all(text in lines[0] for text in expected), lines[0]
    assert SECRET not in err


def test_an_unreachable_database_is_one_line_with_the_password_masked(capsys, monkeypatch, tiny_manifest, fast_space):
    monkeypatch.setenv("FUSION_SEARCH_STORAGE", f"postgresql+psycopg://fs:{SECRET}@127.0.0.1:1/fs")
    code, err = run_worker(capsys, tiny_manifest, fast_space)
    assert_one_line_error(code, err, "cannot open storage postgresql+psycopg://fs:***@127.0.0.1:1/fs", "port 1")


def test_a_storage_url_with_an_unknown_scheme_is_refused(capsys, tiny_manifest, fast_space):
    code, err = run_worker(capsys, tiny_manifest, fast_space, "--storage", "postgres://db.example/fs")
    assert_one_line_error(code, err, "unknown scheme 'postgres'", "postgresql+psycopg")


def test_a_password_on_the_command_line_is_refused_without_echoing_it(capsys, tiny_manifest, fast_space):
    code, err = run_worker(capsys, tiny_manifest, fast_space,
                           "--storage", f"postgresql+psycopg://fs:{SECRET}@127.0.0.1/fs")
    assert_one_line_error(code, err, "contains a password", "FUSION_SEARCH_STORAGE")


def test_a_worker_joining_a_study_that_does_not_exist_says_so(capsys, monkeypatch, pg_url, tiny_manifest, fast_space):
    monkeypatch.setenv("FUSION_SEARCH_STORAGE", pg_url)
    code, err = run_worker(capsys, tiny_manifest, fast_space, "--existing")
    assert_one_line_error(code, err, "no study named 'dist'", "that storage has no studies")


@pytest.fixture
def password_server():
    """A private PostgreSQL that checks passwords (the shared one trusts everyone), role fs / SECRET.
    Its folder sits directly under /tmp: the postgres user cannot enter pytest's private tmp_path."""
    if PG_BIN is None or shutil.which("runuser") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("needs PostgreSQL server binaries and runuser to start a private server")
    folder = Path(tempfile.mkdtemp(prefix="fs-pg-"))
    (folder / "pw").write_text(SECRET)
    shutil.chown(folder, "postgres")
    shutil.chown(folder / "pw", "postgres")
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, str(PG_BIN / "initdb"), "-D", str(folder / "data"), "-A", "scram-sha-256",
                    f"--pwfile={folder / 'pw'}", "-U", "fs"], check=True, capture_output=True)
    port = 55400 + int(time.time()) % 500
    subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"),
                    "-w", "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield port
    subprocess.run([*as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate", "stop"],
                   capture_output=True)
    shutil.rmtree(folder, ignore_errors=True)


def test_a_wrong_password_is_one_line_and_never_printed(capsys, monkeypatch, password_server, tiny_manifest, fast_space):
    monkeypatch.setenv("FUSION_SEARCH_STORAGE", f"postgresql+psycopg://fs:{SECRET}-wrong@127.0.0.1:{password_server}/postgres")
    code, err = run_worker(capsys, tiny_manifest, fast_space)
    assert_one_line_error(code, err, "password authentication failed", "fs:***@")
