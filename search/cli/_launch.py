"""`fusion-search launch`: N local `run` workers on one study, one GPU each, output prefixed, stopped together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

from fusion_search._errors import UserError

GRACE_SECONDS = 60.0  # after Ctrl-C, how long workers get to fail and re-queue their trial
OWN_FLAGS = {"--workers", "--gpus"}


def worker_argv(launch_argv: list[str]) -> list[str]:
    """The `run` command line of one worker: launch's own arguments minus --workers and --gpus."""
    argv, rest = ["run"], list(launch_argv)
    if rest and rest[0] == "launch":
        rest = rest[1:]
    skip = False
    for arg in rest:
        if skip:
            skip = False
        elif arg in OWN_FLAGS:
            skip = True
        elif arg.split("=", 1)[0] not in OWN_FLAGS:
            argv.append(arg)
    return argv


def gpu_ids(text: str | None) -> list[str]:
    """The GPUs of --gpus: comma-separated numbers, or ``all``: every GPU this machine (or container) shows."""
    if text is None:
        return []
    if text.strip() == "all":
        return visible_gpus()
    ids = [part.strip() for part in text.split(",")]
    if not all(part.isdigit() for part in ids):
        raise UserError(f"--gpus must be comma-separated GPU numbers such as 0,1, or all, got {text!r}")
    return ids


def visible_gpus() -> list[str]:
    """CUDA_VISIBLE_DEVICES where it is set (its entries, in order), else what `nvidia-smi -L` lists."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        found = [part.strip() for part in visible.split(",") if part.strip() and part.strip() != "-1"]
    else:
        try:
            listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            listing = ""
        found = [str(index) for index, line in enumerate(listing.splitlines()) if line.startswith("GPU ")]
    if not found:
        raise UserError("--gpus all: this machine shows no GPU (CUDA_VISIBLE_DEVICES is empty or nvidia-smi lists "
                        "none); leave --gpus out to run on the CPU")
    return found


def workers_for(workers: int | None, gpus: list[str]) -> int:
    """--workers, or one worker per GPU when it is left out."""
    if workers is None:
        if not gpus:
            raise UserError("give --workers N (or --gpus, for one worker per GPU)")
        return len(gpus)
    if workers < 1:
        raise UserError(f"--workers must be at least 1, got {workers}")
    return workers


def worker_devices(workers: int, devices: list[str]) -> list[tuple[str | None, int]]:
    """(GPU, number of workers on it) per worker: round robin over the GPUs given, else all on the one device."""
    placement = [devices[index % len(devices)] if devices else None for index in range(workers)]
    return [(gpu, placement.count(gpu)) for gpu in placement]


def launch_workers(run_argv: list[str], workers: int | None, gpus: str | None = None) -> int:
    """Start the workers (``workers`` None: one per GPU), stream their output, and return 0 when all finished
    well; on Ctrl-C or SIGTERM forward SIGINT to each, wait GRACE_SECONDS, then terminate what is left."""
    devices = gpu_ids(gpus)
    workers = workers_for(workers, devices)
    processes = [_start(index, run_argv, gpu, sharing) for index, (gpu, sharing) in
                 enumerate(worker_devices(workers, devices))]
    readers = [threading.Thread(target=_relay, args=(index, p), daemon=True) for index, p in enumerate(processes)]
    for reader in readers:
        reader.start()
    stop = _StopRequest()
    with stop.installed():
        while any(p.poll() is None for p in processes) and not stop.signum:
            time.sleep(0.2)
    if stop.signum:
        print(f"launch: stopping {workers} workers", file=sys.stderr, flush=True)
        _stop_all(processes)
    for reader in readers:
        reader.join(timeout=5)
    if stop.signum:
        return 128 + stop.signum
    failed = [p.returncode for p in processes if p.returncode != 0]
    return failed[0] if failed else 0


def _start(index: int, run_argv: list[str], gpu: str | None, sharing: int) -> subprocess.Popen:
    """One worker; ``sharing`` workers (itself included) use its device and split its memory budget."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", FUSION_SEARCH_WORKER=str(index),
               FUSION_SEARCH_WORKERS_PER_DEVICE=str(sharing))
    if gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = gpu
    where = f" on GPU {gpu}" if gpu is not None else ""
    print(f"launch: worker {index}{where}: fusion-search {' '.join(run_argv)}", file=sys.stderr, flush=True)
    # Own session: a terminal's Ctrl-C reaches the launcher only, which forwards exactly one SIGINT.
    return subprocess.Popen([sys.executable, "-m", "fusion_search.cli", *run_argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, bufsize=1, start_new_session=True)


def _relay(index: int, process: subprocess.Popen) -> None:
    for line in process.stdout:
        sys.stdout.write(f"[w{index}] {line}")
        sys.stdout.flush()


def _stop_all(processes: list[subprocess.Popen]) -> None:
    for signum, patience in ((signal.SIGINT, GRACE_SECONDS), (signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        alive = [p for p in processes if p.poll() is None]
        for process in alive:
            process.send_signal(signum)
        deadline = time.monotonic() + patience
        while any(p.poll() is None for p in alive) and time.monotonic() < deadline:
            time.sleep(0.2)


class _StopRequest:
    """Remembers the first SIGINT/SIGTERM instead of raising in the middle of the loop."""

    signum: int = 0

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        previous = {s: signal.signal(s, self._note) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _note(self, signum, frame) -> None:
        self.signum = self.signum or signum
