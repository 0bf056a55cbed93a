"""`fusion-search dashboard` serves optuna-dashboard on the study's storage; the study stays a plain Optuna study."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import optuna
import pytest

from fusion_search.cli import main
from tests._browser import ARTIFACTS, render_until, screenshot

OPTUNA_CLI = Path(sys.executable).with_name("optuna")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard(searched_study):
    """`fusion-search dashboard` in its own process on a free loopback port; yields its base URL."""
    storage, _, _ = searched_study
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fusion_search.cli", "dashboard", "--storage", storage,
                                "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(f"{base}/api/meta", process)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_until_serving(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dashboard exited with {process.returncode}: {process.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"dashboard did not answer at {url} within {seconds} s")


def study_id(searched_study) -> int:
    storage, name, _ = searched_study
    return optuna.storages.RDBStorage(storage).get_study_id_from_name(name)


def test_study_page_shows_the_study_name_and_its_data_fingerprint(dashboard, searched_study):
    storage, name, _ = searched_study
    fingerprint = optuna.load_study(study_name=name, storage=storage).user_attrs["data_fingerprint"]
    url = f"{dashboard}/dashboard/studies/{study_id(searched_study)}"
    page = render_until(url, [name, "data_fingerprint", fingerprint])
    assert name in page.dom
    assert "data_fingerprint" in page.dom and fingerprint in page.dom
    assert page.errors == []
    screenshot(url, ARTIFACTS / "dashboard-study.png")


def test_trials_page_shows_a_trials_user_attributes(dashboard, searched_study):
    storage, name, _ = searched_study
    first = optuna.load_study(study_name=name, storage=storage).trials[0]
    url = f"{dashboard}/dashboard/studies/{study_id(searched_study)}/trials"
    page = render_until(url, ["delta_vs_best_baseline", "fold_aucs"])
    for key in ("delta_vs_best_baseline", "fold_aucs", "oof_auc", "std_auc", "train_seconds", "device", "backend"):
        assert key in page.dom, key
    assert first.user_attrs["fusion"] in page.dom
    assert page.errors == []
    screenshot(url, ARTIFACTS / "dashboard-trials.png")


def test_a_busy_port_is_a_one_line_error(searched_study, capsys):
    storage, _, _ = searched_study
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = main(["dashboard", "--storage", storage, "--port", str(port)])
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2
    assert error.startswith("fusion-search: error:") and f"port {port}" in error and "already in use" in error


def test_optuna_cli_reads_the_study_as_a_plain_optuna_study(searched_study):
    storage, name, _ = searched_study
    study = optuna.load_study(study_name=name, storage=storage)
    best = subprocess.run([str(OPTUNA_CLI), "best-trial", "--study-name", name, "--storage", storage, "-f", "json"],
                          capture_output=True, text=True, timeout=60, check=True)
    record = json.loads(best.stdout)
    assert record["number"] == study.best_trial.number
    assert record["value"] == {"mean ROC AUC": pytest.approx(study.best_value)}  # the metric is named
    assert record["user_attrs"]["fusion"] == study.best_trial.user_attrs["fusion"]
    trials = subprocess.run([str(OPTUNA_CLI), "trials", "--study-name", name, "--storage", storage, "-f", "json"],
                            capture_output=True, text=True, timeout=60, check=True)
    assert sorted(t["number"] for t in json.loads(trials.stdout)) == [t.number for t in study.trials]


def test_the_address_dashboard_prints_opens_on_the_verdict_in_the_first_screen(searched_study, tmp_path):
    """Before, the printed address opened on the study list, and the study page on History and importances, the
    verdict about 1,200 px down. Now it is the most recent study's Note tab, and the verdict's first sentence is
    on the first 1400 x 1000 screen without scrolling or clicking."""
    import re
    import shutil

    from fusion_search.results import compare, publish_to_dashboard
    from tests._browser import first_screen_text

    storage, name, _ = searched_study
    copy = tmp_path / "study.db"
    shutil.copy(storage.removeprefix("sqlite:///"), copy)  # its own note, leaving the session's study as it was
    study = optuna.load_study(study_name=name, storage=f"sqlite:///{copy}")
    publish_to_dashboard(study)
    process = subprocess.Popen([sys.executable, "-m", "fusion_search.cli", "dashboard", "--storage",
                                f"sqlite:///{copy}", "--port", str(free_port())],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        printed = [process.stderr.readline() for _ in range(2)]
        address = re.search(r"the verdict of study 'tiny': (http://\S+)", printed[1]).group(1)
        assert address.endswith(f"/dashboard/studies/{study._study_id}/note")
        _wait_until_serving(address, process)
        first_sentence = re.split(r"(?<=[.)])\s+(?=[A-Z])", compare(study).headline)[0]
        assert first_sentence in first_screen_text(address, (1400, 1000), expected=first_sentence[:60])
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_dashboard_for_an_unknown_study_is_a_one_line_error(searched_study, capsys):
    storage, _, _ = searched_study
    assert main(["dashboard", "--storage", storage, "--study", "nope", "--port", str(free_port())]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "no study named 'nope'" in error and "tiny" in error
