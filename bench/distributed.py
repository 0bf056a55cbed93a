"""Distributed-worker benchmark (not a test): trial throughput with 1, 2 and 4 `fusion-search run`
workers on CPU-light trials against PostgreSQL, and the storage overhead of one trial.

    .venv/bin/python -m bench.distributed [--server postgresql+psycopg://postgres@127.0.0.1:5432]

Writes bench/results/distributed.json and bench/results/distributed.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import optuna  # noqa: E402
import sqlalchemy  # noqa: E402

from bench._results import RESULTS  # noqa: E402
from fusion_search.data import make_demo_dataset  # noqa: E402
from fusion_search.storage import open_storage  # noqa: E402
from fusion_search.study import WorkerSettings, run_worker  # noqa: E402
from tests.distributed._workers import FAST_SPACE, start_worker, worker_command  # noqa: E402


@contextmanager
def fresh_database(server: str):
    name = f"fs_bench_{uuid.uuid4().hex[:8]}"
    admin = sqlalchemy.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def throughput(server: str, workers: int, trials: int, folder: Path) -> dict:
    """Trials per minute between the first trial's start and the last one's end (process start-up,
    ~4 s of TensorFlow import per worker, is reported separately)."""
    with fresh_database(server) as url:
        started = time.monotonic()
        command = worker_command(folder / "manifest.csv", folder / "fast.yaml", "bench", trials)
        processes = [start_worker(command, url, folder / f"w{workers}-{i}.log") for i in range(workers)]
        codes = [p.wait() for p in processes]
        wall = time.monotonic() - started
        study = optuna.load_study(study_name="bench", storage=url)
        done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        first = min(t.datetime_start for t in done)
        last = max(t.datetime_complete for t in done)
        span = (last - first).total_seconds()
        return {"workers": workers, "exit_codes": codes, "complete": len(done),
                "trials_per_minute": round(60 * len(done) / span, 2), "trial_span_s": round(span, 1),
                "wall_s_with_startup": round(wall, 1),
                "mean_trial_s": round(statistics.fmean(
                    (t.datetime_complete - t.datetime_start).total_seconds() for t in done), 2)}


def storage_overhead(url: str, trials: int = 40) -> float:
    """Milliseconds per trial of everything but training and sampling: stale check, claim,
    heartbeat thread, six suggestions (random sampler: no TPE cost) and tell, instant objective."""
    storage = open_storage(url)
    study = optuna.create_study(study_name=f"overhead-{uuid.uuid4().hex[:6]}", storage=storage, direction="maximize",
                                sampler=optuna.samplers.RandomSampler(seed=0))

    def instant(trial: optuna.Trial) -> float:
        return sum(trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6))

    started = time.perf_counter()
    run_worker(study, instant, WorkerSettings(trials=trials))
    return round(1000 * (time.perf_counter() - started) / trials, 1)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distributed")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--trials", type=int, default=12, help="trials per run (%(default)s)")
    parser.add_argument("--workers", default="1,2,4", help="worker counts (%(default)s)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fusion-bench-dist-"))
    make_demo_dataset(folder, rows=40, image_size=16, seed=3)
    (folder / "fast.yaml").write_text(FAST_SPACE)
    runs = [throughput(args.server, int(n), args.trials, folder) for n in args.workers.split(",")]
    with fresh_database(args.server) as url:
        overhead = {"postgresql_ms": storage_overhead(url)}
    overhead["sqlite_file_ms"] = storage_overhead(f"sqlite:///{folder / 'overhead.db'}")
    record = {"runs": runs, "storage_overhead_per_trial": overhead, "trials": args.trials,
              "trial": "40 rows, 16 px, small_cnn, 2 epochs, 2 folds (tests/distributed FAST_SPACE)",
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                          "optuna": optuna.__version__, "note": "shared 2-core CPU machine, no GPU"}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "distributed.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "distributed.md").write_text(markdown(record))
    print(markdown(record))


def markdown(record: dict) -> str:
    lines = ["# Distributed workers: throughput and storage overhead", "",
             f"{record['trials']} trials per run; trial = {record['trial']}; {record['machine']['note']}.", "",
             "| workers | complete | trials/min | mean trial (s) | trial span (s) | wall incl. start-up (s) |",
             "|---:|---:|---:|---:|---:|---:|"]
    for run in record["runs"]:
        lines.append(f"| {run['workers']} | {run['complete']} | {run['trials_per_minute']} | {run['mean_trial_s']} "
                     f"| {run['trial_span_s']} | {run['wall_s_with_startup']} |")
    overhead = record["storage_overhead_per_trial"]
    lines += ["", "Storage overhead per trial (stale check, claim, heartbeat, 6 suggestions, tell; "
              "random sampler, no training):", "", "| storage | ms per trial |", "|---|---:|",
              f"| PostgreSQL (localhost) | {overhead['postgresql_ms']} |",
              f"| SQLite file | {overhead['sqlite_file_ms']} |", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
