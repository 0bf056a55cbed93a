"""`launch --gpus all`: one worker per GPU the machine shows (CUDA_VISIBLE_DEVICES, else nvidia-smi), each on its
own GPU; no GPU, or no worker count, is a one-line error before any worker starts."""

from __future__ import annotations

import pytest

from fusion_search import UserError
from fusion_search.cli import main
from fusion_search.cli._launch import gpu_ids, worker_devices, workers_for

NVIDIA_SMI_L = """#!/bin/sh
echo "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aaaa)"
echo "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-bbbb)"
echo "GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-cccc)"
"""


def test_all_means_the_gpus_cuda_visible_devices_shows_one_worker_each(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
    gpus = gpu_ids("all")
    assert gpus == ["2", "5"]
    assert worker_devices(workers_for(None, gpus), gpus) == [("2", 1), ("5", 1)]


def test_without_cuda_visible_devices_all_means_what_nvidia_smi_lists(monkeypatch, tmp_path):
    """nvidia-smi is a stand-in script here: this machine has no GPU."""
    script = tmp_path / "nvidia-smi"
    script.write_text(NVIDIA_SMI_L)
    script.chmod(0o755)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    assert gpu_ids("all") == ["0", "1", "2"]
    assert [gpu for gpu, _ in worker_devices(workers_for(None, gpu_ids("all")), ["0", "1", "2"])] == ["0", "1", "2"]


@pytest.mark.parametrize("workers, gpus, message", [(None, [], "give --workers N"), (0, ["0"], "at least 1")])
def test_a_worker_count_that_cannot_be_known_or_is_not_positive_is_refused(workers, gpus, message):
    with pytest.raises(UserError, match=message):
        workers_for(workers, gpus)


def test_all_on_a_machine_without_gpus_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    code = main(["launch", "--gpus", "all", "--data", str(tmp_path / "manifest.csv"), "--study", "s"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "shows no GPU" in err
