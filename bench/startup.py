"""Start-up time of commands that train nothing, one commit against another, side by side.

    python -m bench.startup --before 3d39a48 --after HEAD   # writes bench/results/startup.json and startup.md

Each command runs in a fresh interpreter, the two versions alternating, ROUNDS times; the median wall time
is reported with which deep-learning frameworks the command loaded. Each version is installed on its own
(bench/_versions.py) with this environment's packages.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench._results import RESULTS
from bench._versions import cli_module, installed, revision_name

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


def once(python: Path, cli_module: str, argv: list[str]) -> tuple[float, list[str]]:
    """Wall time of one fresh interpreter running the command, and the frameworks it loaded."""
    started = time.perf_counter()
    result = subprocess.run([str(python), "-c", PROBE, cli_module, json.dumps(argv)], capture_output=True,
                            text=True, timeout=300, cwd=tempfile.gettempdir())  # not this checkout's folders
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return seconds, json.loads(result.stderr.strip().splitlines()[-1])


def measure(before: str, after: str) -> dict:
    with tempfile.TemporaryDirectory() as folder, installed(before, Path(folder)) as old, \
            installed(after, Path(folder)) as new:
        versions = {"before": (old, cli_module(old)), "after": (new, cli_module(new))}
        rows = {}
        for name, argv in COMMANDS.items():
            times = {version: [] for version in versions}
            loaded = {}
            for _ in range(ROUNDS):
                for version, (python, module) in versions.items():
                    seconds, loaded[version] = once(python, module, argv)
                    times[version].append(seconds)
            rows[name] = {version: {"median_s": round(statistics.median(t), 3), "runs_s": [round(s, 3) for s in t],
                                    "frameworks": loaded[version]} for version, t in times.items()}
    return {"before": revision_name(before), "after": revision_name(after), "rounds": ROUNDS,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "commands": rows}


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
    parser.add_argument("--before", required=True, help="git revision measured as before")
    parser.add_argument("--after", default="HEAD", help="git revision measured as after (%(default)s)")
    args = parser.parse_args()
    result = measure(args.before, args.after)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "startup.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
