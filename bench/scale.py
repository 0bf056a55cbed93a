"""Scale benchmark (not a test), side by side in one run on this machine:

(1) peak RSS of one worker training a fixed design on synthetic manifests of 5,000, 20,000 and 80,000 rows at 64 px
    (bench/_scale_memory.py);
(2) claim/tell throughput of 8, 32 and 64 simulated workers (the real worker loop: claim, heartbeat, tell; an
    objective that sleeps for one second instead of training; no deep-learning framework imported) on PostgreSQL
    directly and through `fusion-search storage-proxy`: trials per second against the ideal, p95 claim latency, and
    the peak number of server connections (pg_stat_activity).

    .venv/bin/python -m bench.scale [--server postgresql+psycopg://postgres@127.0.0.1:5432] [--skip-memory]

Writes bench/results/scale.json and bench/results/scale.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import optuna
import sqlalchemy

from bench._results import RESULTS
from bench.distributed import fresh_database
from fusion_search.storage import PROXY_CONNECTIONS, WORKER_CONNECTIONS, open_storage
from fusion_search.study import WorkerSettings, run_worker
from tests.distributed._workers import free_port

TRIAL_SECONDS = 1.0
TRIALS_PER_WORKER = 6
LENGTH_TRIALS = {1.0: 6, 10.0: 3, 60.0: 2}  # --trial-seconds: trials per worker at each length (bounds the wall time)


def sleeping_objective(trial: optuna.Trial, seconds: float = TRIAL_SECONDS) -> float:
    """Two suggestions, a report, ``seconds`` of 'training'."""
    x = trial.suggest_float("x", 0.0, 1.0)
    trial.suggest_categorical("fusion", ["concat", "late", "film"])
    time.sleep(seconds / 2)
    trial.report(x, step=0)
    time.sleep(seconds / 2)
    return x


def worker_main(storage: str, study_name: str, trials: int, go: Path, out: Path,
                trial_seconds: float = TRIAL_SECONDS) -> None:
    """One simulated worker process: open the storage, wait for the start signal, run the real worker loop."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=open_storage(storage),
                              sampler=optuna.samplers.RandomSampler())
    out.with_suffix(".ready").touch()
    while not go.exists():
        time.sleep(0.05)
    settings = WorkerSettings(trials=trials, poll_seconds=0.5, heartbeat=5)
    spent = []

    def timed(trial: optuna.Trial) -> float:
        started = time.perf_counter()
        try:
            return sleeping_objective(trial, trial_seconds)
        finally:
            spent.append(time.perf_counter() - started)

    started, cpu = time.perf_counter(), time.process_time()
    ran = run_worker(study, timed, settings)
    loop, cpu = time.perf_counter() - started, time.process_time() - cpu
    frameworks = [name for name in ("tensorflow", "keras", "jax", "torch") if name in sys.modules]
    out.write_text(json.dumps({"ran": ran, "claims": settings.claimed, "frameworks": frameworks,
                               "objective_s": spent, "loop_s": loop, "cpu_s": cpu}))


class ConnectionWatch(threading.Thread):
    """Samples the database's server connections (pg_stat_activity) every 0.1 s; keeps the peak."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.database = sqlalchemy.engine.make_url(url).database
        # autocommit: within one transaction PostgreSQL would show the same snapshot of pg_stat_activity every time
        self.admin = sqlalchemy.create_engine(url.rsplit("/", 1)[0] + "/postgres", poolclass=sqlalchemy.pool.NullPool,
                                              isolation_level="AUTOCOMMIT")
        self.peak, self.stop = 0, threading.Event()

    def run(self) -> None:
        with self.admin.connect() as connection:
            while not self.stop.wait(0.1):
                found = connection.execute(sqlalchemy.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = :db"), {"db": self.database}).scalar_one()
                self.peak = max(self.peak, int(found))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def simulate(server: str, workers: int, via_proxy: bool, folder: Path, per_worker: int = TRIALS_PER_WORKER,
             trial_seconds: float = TRIAL_SECONDS) -> dict:
    trials = workers * per_worker
    with fresh_database(server) as url:
        unpooled = optuna.storages.RDBStorage(url, engine_kwargs={"poolclass": sqlalchemy.pool.NullPool})
        optuna.create_study(study_name="scale", storage=unpooled, direction="maximize")  # holds no connection after
        proxy, storage = None, url
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if via_proxy:
            port = free_port()
            proxy = subprocess.Popen([sys.executable, "-m", "fusion_search.cli", "storage-proxy", "--port", str(port)],
                                     env=dict(env, FUSION_SEARCH_STORAGE=url), stderr=subprocess.DEVNULL)
            storage = f"grpc://127.0.0.1:{port}"
            optuna.storages.GrpcStorageProxy(host="127.0.0.1", port=port).wait_server_ready(timeout=120)
        run = folder / f"{'proxy' if via_proxy else 'direct'}-{workers}-{trial_seconds:g}s"
        run.mkdir()
        go = run / "go"
        watch = ConnectionWatch(url)
        watch.start()
        processes = [subprocess.Popen([sys.executable, "-m", "bench.scale", "worker", storage, "scale", str(trials),
                                       str(go), str(run / f"w{i}.json"), str(trial_seconds)], env=env)
                     for i in range(workers)]
        while sum(1 for _ in run.glob("*.ready")) < workers:
            if any(p.poll() not in (None, 0) for p in processes):
                raise RuntimeError(f"a simulated worker failed to start ({run})")
            time.sleep(0.2)
        started, proxy_idle = time.monotonic(), cpu_seconds(proxy.pid) if proxy is not None else 0.0
        go.touch()
        codes = [p.wait() for p in processes]
        wall = time.monotonic() - started
        watch.stop.set()
        watch.join()
        proxy_cpu = cpu_seconds(proxy.pid) - proxy_idle if proxy is not None else 0.0  # the run, not start-up
        if proxy is not None:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(timeout=30)
        study = optuna.load_study(study_name="scale", storage=url)
        complete = len(study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)))
        reports = [json.loads((run / f"w{i}.json").read_text()) for i in range(workers)]
        claims = [c for report in reports for c in report["claims"]]
        frameworks = sorted({name for report in reports for name in report["frameworks"]})
        loop = sum(report["loop_s"] for report in reports)
        shares = {"objective": sum(sum(r["objective_s"]) for r in reports) / loop,
                  "claim": sum(claims) / loop}
        shares["rest"] = 1 - shares["objective"] - shares["claim"]  # Trial set-up, tell, waits for a free slot
        ideal = workers / trial_seconds
        return {"workers": workers, "via": "proxy" if via_proxy else "direct", "trial_seconds": trial_seconds,
                "exit_codes": sorted(set(codes)),
                "trials": trials, "complete": complete, "wall_s": round(wall, 2),
                "trials_per_s": round(complete / wall, 2), "ideal_per_s": ideal,
                "vs_ideal": round(complete / wall / ideal, 3),
                "claim_p50_ms": round(1000 * float(np.percentile(claims, 50)), 1),
                "claim_p95_ms": round(1000 * float(np.percentile(claims, 95)), 1),
                "peak_connections": watch.peak, "frameworks_imported": frameworks,
                "worker_time_shares": {k: round(v, 3) for k, v in shares.items()},
                "worker_cpu_ms_per_trial": round(1000 * sum(r["cpu_s"] for r in reports) / complete, 1),
                "proxy_cpu_ms_per_trial": round(1000 * proxy_cpu / complete, 1) if via_proxy else None,
                "peak_connections_per_worker": round(watch.peak / workers, 2)}


def max_connections(server: str) -> int:
    admin = sqlalchemy.create_engine(f"{server}/postgres", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as connection:
        return int(connection.execute(sqlalchemy.text("SHOW max_connections")).scalar_one())


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        storage, study, trials, go, out = sys.argv[2:7]
        worker_main(storage, study, int(trials), Path(go), Path(out), float(sys.argv[7]))
        return
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--workers", default="8,32,64")
    parser.add_argument("--via", default="direct,proxy", help="direct, proxy or both (%(default)s)")
    parser.add_argument("--trials-per-worker", type=int, default=TRIALS_PER_WORKER)
    parser.add_argument("--skip-memory", action="store_true", help="only the workers part")
    parser.add_argument("--trial-seconds", help="e.g. 1,10,60: through the proxy at each trial length "
                        "(trials per worker: 6, 3, 2), into scale_trial_lengths.json/.md; the other options as given")
    args = parser.parse_args()
    if args.trial_seconds:
        return trial_lengths(args.server, [float(s) for s in args.trial_seconds.split(",")],
                             [int(n) for n in args.workers.split(",")])
    folder = Path(tempfile.mkdtemp(prefix="fusion-bench-scale-"))
    limit = max_connections(args.server)
    runs, skipped = [], []
    for workers in (int(n) for n in args.workers.split(",")):
        if "direct" not in args.via:
            pass
        elif WORKER_CONNECTIONS * workers + 10 <= limit:
            runs.append(simulate(args.server, workers, False, folder, args.trials_per_worker))
        else:
            skipped.append(f"{workers} workers directly: up to {WORKER_CONNECTIONS * workers} connections, and this "
                           f"server's max_connections is {limit}")
        if "proxy" in args.via:
            runs.append(simulate(args.server, workers, True, folder, args.trials_per_worker))
        print(json.dumps(runs[-1]), flush=True)
    record = {"workers": runs, "skipped": skipped, "trial_seconds": TRIAL_SECONDS,
              "trials_per_worker": args.trials_per_worker, "proxy_connections": PROXY_CONNECTIONS,
              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "optuna": optuna.__version__,
                          "max_connections": limit, "note": "shared 2-core CPU machine, PostgreSQL on localhost"}}
    if not args.skip_memory:
        from bench._scale_memory import measure_memory

        record["memory"] = measure_memory()
    elif (RESULTS / "scale.json").exists():
        record["memory"] = json.loads((RESULTS / "scale.json").read_text()).get("memory")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "scale.md").write_text(markdown(record))
    print(markdown(record))


def trial_lengths(server: str, lengths: list[float], worker_counts: list[int]) -> None:
    """Simulated workers through the proxy at each trial length: how the proxy's CPU per trial and the rate against
    the ideal change once trials take as long as GPU trials do."""
    folder = Path(tempfile.mkdtemp(prefix="fusion-bench-scale-"))
    load = [round(os.getloadavg()[0], 2)]
    runs = []
    for seconds in lengths:
        for workers in worker_counts:
            runs.append(simulate(server, workers, True, folder, LENGTH_TRIALS.get(seconds, 2), seconds))
            print(json.dumps(runs[-1]), flush=True)
    load.append(round(os.getloadavg()[0], 2))
    record = {"runs": runs, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                        "optuna": optuna.__version__, "load_average_1min": load,
                                        "date": time.strftime("%Y-%m-%d"), "heartbeat_s": 5}}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "scale_trial_lengths.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "scale_trial_lengths.md").write_text(lengths_markdown(record))
    print(lengths_markdown(record))


def lengths_markdown(record: dict) -> str:
    machine = record["machine"]
    lines = ["# Scale at realistic trial lengths: simulated workers through the storage proxy", "",
             f"{machine['date']}, {machine['cpus']} CPU cores shared with other jobs (1-minute load average "
             f"{machine['load_average_1min'][0]} at the start, {machine['load_average_1min'][1]} at the end), "
             "PostgreSQL on localhost, the real worker loop (claim, heartbeat every "
             f"{machine['heartbeat_s']} s, report, tell) around an objective that sleeps for the trial length "
             "(`python -m bench.scale --trial-seconds 1,10,60 --workers 8,32,64`).", "",
             "| trial length (s) | workers | complete / asked | trials/s | ideal | vs ideal | claim p95 (ms) "
             "| proxy CPU ms/trial | worker CPU ms/trial | workers one proxy core serves |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in record["runs"]:
        serves = 1000 * run["trial_seconds"] / run["proxy_cpu_ms_per_trial"] if run["proxy_cpu_ms_per_trial"] else 0
        lines.append(f"| {run['trial_seconds']:g} | {run['workers']} | {run['complete']} / {run['trials']} | "
                     f"{run['trials_per_s']} | {run['ideal_per_s']:.2f} | {run['vs_ideal']:.2f} | "
                     f"{run['claim_p95_ms']} | {run['proxy_cpu_ms_per_trial']} | {run['worker_cpu_ms_per_trial']} | "
                     f"{serves:,.0f} |")
    lines += ["", "*workers one proxy core serves* = trial length / the proxy's CPU per trial: the workers whose "
              "trials, each that long, keep one core of the proxy busy (PostgreSQL's own CPU not counted).", ""]
    return "\n".join(lines)


def markdown(record: dict) -> str:
    lines = ["# Scale: memory per worker and many workers on one study", ""]
    if record.get("memory"):
        from bench._scale_memory import memory_markdown

        lines += ["## (1) Peak RSS of one worker", "", *memory_markdown(record["memory"]), "",
                  "Before the streaming data path (433c0cd, same bench): 1744 MiB decode and 3731 MiB train at 80,000 "
                  "rows, 2.16x and 3.54x the 5,000-row peaks ([scale_memory.md](scale_memory.md)).", ""]
    lines += ["## (2) Simulated workers (real worker loop, 1 s sleeping objective)", "",
              f"{record['trials_per_worker']} trials per worker; ideal = workers / {record['trial_seconds']:.0f} s; "
              f"{record['machine']['note']}; server max_connections {record['machine']['max_connections']}; "
              f"the proxy holds at most {record['proxy_connections']} connections.", "",
              "| workers | via | complete / asked | trials/s | ideal | vs ideal | claim p50 (ms) | claim p95 (ms) "
              "| peak connections | per worker | worker CPU ms/trial | proxy CPU ms/trial |",
              "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for run in record["workers"]:
        lines.append(f"| {run['workers']} | {run['via']} | {run['complete']} / {run['trials']} | {run['trials_per_s']} "
                     f"| {run['ideal_per_s']:.0f} | {run['vs_ideal']:.2f} | {run['claim_p50_ms']} | "
                     f"{run['claim_p95_ms']} | {run['peak_connections']} | {run['peak_connections_per_worker']} | "
                     f"{run['worker_cpu_ms_per_trial']} | {run['proxy_cpu_ms_per_trial'] or '-'} |")
    lines += ["", "What it takes: at the ideal rate each second brings `workers` trials, and each costs the CPU above (worker "
              "processes + proxy; PostgreSQL's own share not counted). The CPU-seconds that asks for, per second:", "",
              "| workers | via | CPU-s needed per s at the ideal rate | this machine has |", "|---:|---|---:|---:|"]
    for run in record["workers"]:
        needed = run["ideal_per_s"] * (run["worker_cpu_ms_per_trial"] + (run["proxy_cpu_ms_per_trial"] or 0)) / 1000
        lines.append(f"| {run['workers']} | {run['via']} | {needed:.2f} | {record['machine']['cpus']} |")
    imported = sorted({name for run in record["workers"] for name in run["frameworks_imported"]})
    lines += ["", f"Deep-learning frameworks imported by the simulated workers: {', '.join(imported) or 'none'}."]
    lines += [""] + [f"Not run: {reason}." for reason in record["skipped"]] + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
