"""Start-up time of commands that train nothing, this checkout against an earlier commit, side by side.

    python -m bench.startup --before 3d39a48      # writes bench/results/startup.json and startup.md

Each command runs in a fresh interpreter, the two versions alternating, ROUNDS times; the median wall time
is reported with which deep-learning frameworks the command loaded. The earlier commit is checked out
into a temporary git worktree and run from it with this environment's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
ROUNDS = 7
COMMANDS = {"--help": ["--help"], "spaces": ["spaces"], "run --help": ["run", "--help"]}
PROBE = """
import json, sys
main = __import__(sys.argv[1], fromlist=["main"]).main
try:
    main(json.loads(sys.argv[2]))
except SystemExit:
    pass
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"tensorflow", "keras", "jax", "torch"})
print(json.dumps(loaded), file=sys.stderr)
"""


def once(cli_module: str, argv: list[str], path: str) -> tuple[float, list[str]]:
    """Wall time of one fresh interpreter running the command, and the frameworks it loaded."""
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", PROBE, cli_module, json.dumps(argv)], capture_output=True,
                            text=True, timeout=300, cwd=path or tempfile.gettempdir(),  # not this checkout's folders
                            env={**os.environ, "PYTHONPATH": path} if path else None)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return seconds, json.loads(result.stderr.strip().splitlines()[-1])


def measure(before: str) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        worktree = Path(folder) / "before"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(worktree), before],
                       check=True, capture_output=True)
        try:
            versions = {"before": ("search.cli", str(worktree)), "after": ("fusion_search.cli", "")}
            rows = {}
            for name, argv in COMMANDS.items():
                times = {version: [] for version in versions}
                loaded = {}
                for _ in range(ROUNDS):
                    for version, (module, path) in versions.items():
                        seconds, loaded[version] = once(module, argv, path)
                        times[version].append(seconds)
                rows[name] = {version: {"median_s": round(statistics.median(t), 3), "runs_s": [round(s, 3) for s in t],
                                        "frameworks": loaded[version]} for version, t in times.items()}
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
    return {"before": before, "after": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                                      capture_output=True, text=True).stdout.strip(),
            "rounds": ROUNDS, "machine": f"{platform.machine()}, {os.cpu_count()} cores", "commands": rows}


def markdown(result: dict) -> str:
    lines = [f"# Start-up time (`python -m bench.startup --before {result['before']}`)", "",
             f"Fresh interpreter per run, versions alternating, median of {result['rounds']} runs; "
             f"{result['machine']}. Before: {result['before']}; after: {result['after']}.", "",
             "| command | before | after | speed-up | frameworks loaded before → after |", "|---|---:|---:|---:|---|"]
    for name, row in result["commands"].items():
        before, after = row["before"], row["after"]
        lines.append(f"| `fusion-search {name}` | {before['median_s']:.2f} s | {after['median_s']:.2f} s | "
                     f"{before['median_s'] / after['median_s']:.1f}x | {', '.join(before['frameworks']) or 'none'} → "
                     f"{', '.join(after['frameworks']) or 'none'} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.startup")
    parser.add_argument("--before", required=True, help="git revision to compare this checkout against")
    result = measure(parser.parse_args().before)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "startup.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
