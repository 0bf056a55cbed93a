"""docker-compose.yml read by a real compose parser (Debian's docker-compose; no engine needed)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.distributed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def compose_folder(tmp_path) -> Path:
    if shutil.which("docker-compose") is None:
        (pytest.fail if os.environ.get("CI") else pytest.skip)("docker-compose is not installed (.ci/run installs it)")
    shutil.copy(REPO / "docker-compose.yml", tmp_path / "docker-compose.yml")
    return tmp_path


def compose_config(folder: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["docker-compose", "-f", "docker-compose.yml", "config"], cwd=folder,
                          capture_output=True, text=True, timeout=60)


def test_compose_file_with_the_example_env_has_database_workers_and_dashboard(compose_folder):
    shutil.copy(REPO / ".env.example", compose_folder / ".env")
    result = compose_config(compose_folder)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    postgres, worker, dashboard = (config["services"][name] for name in ("postgres", "worker", "dashboard"))

    assert "pgdata" in config["volumes"] and any(v.startswith("pgdata:") for v in postgres["volumes"])
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert worker["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert worker["build"] and "container_name" not in worker and "ports" not in worker  # --scale worker=N
    gpus = worker["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpus["capabilities"] == ["gpu"] and gpus["count"] == "all"  # every GPU, one worker each (launch)
    assert worker["command"][:3] == ["launch", "--gpus", "all"] and "--workers" not in worker["command"]
    assert worker["environment"]["FUSION_SEARCH_STORAGE"].startswith("postgresql+psycopg://fusion:")
    cache = worker["environment"]["FUSION_SEARCH_CACHE"]
    assert "cache" in config["volumes"] and any(v.startswith(f"cache:{cache}") for v in worker["volumes"])
    assert "max_connections=200" in postgres["command"]  # PG_MAX_CONNECTIONS of .env.example
    assert dashboard["command"][0] == "dashboard"
    published = [p for service in config["services"].values() for p in service.get("ports", [])]
    assert published and all(str(p).startswith("127.0.0.1:") for p in published)


def test_compose_refuses_to_start_without_a_password_in_env(compose_folder):
    result = compose_config(compose_folder)
    assert result.returncode != 0 and "POSTGRES_PASSWORD" in result.stderr


def test_env_file_is_ignored_by_git_and_the_image_build():
    assert ".env" in (REPO / ".gitignore").read_text().split()
    assert ".env" in (REPO / ".dockerignore").read_text().split()
