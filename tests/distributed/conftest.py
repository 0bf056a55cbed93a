"""Distributed-search fixtures: a fresh PostgreSQL database per run, a tiny manifest and a fast space.

Every test here is marked `distributed` (`pytest -m distributed` runs just these)."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy

from tests.distributed._workers import FAST_SPACE

SERVER = os.environ.get("FUSION_SEARCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")


def pytest_configure(config):
    config.addinivalue_line("markers", "distributed: many worker processes against PostgreSQL (slow-ish)")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/distributed" in str(item.fspath):
            item.add_marker(pytest.mark.distributed)


def _admin_engine() -> sqlalchemy.engine.Engine:
    return sqlalchemy.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server URL (no database); skips when no PostgreSQL answers (.ci/run starts one)."""
    try:
        with _admin_engine().connect() as connection:
            connection.execute(sqlalchemy.text("SELECT 1"))
    except sqlalchemy.exc.OperationalError as error:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(f"no PostgreSQL at {SERVER}: {str(error).splitlines()[0]}")
    return SERVER


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database for one test, dropped afterwards (with any connection left to it)."""
    name = f"fs_test_{uuid.uuid4().hex[:10]}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    yield f"{pg_server}/{name}"
    with engine.connect() as connection:
        connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def tiny_manifest(tmp_path_factory) -> Path:
    """40 rows, 16 px images: each trial trains in well under a second per fold."""
    from fusion_search.data import make_demo_dataset

    return make_demo_dataset(tmp_path_factory.mktemp("tiny-data"), rows=40, image_size=16, seed=3)


@pytest.fixture(scope="session")
def fast_space(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fast-space") / "fast.yaml"
    path.write_text(FAST_SPACE)
    return path
