"""How often the headline claims "fusion helped", on planted data where we know the answer, one commit against
another, measured the same way: each study is run by that version's own CLI (`run`, then `report`, whose
first printed line is the headline), each version installed on its own (bench/_versions.py).

    python -m bench.verdict --before 3d39a48 --after HEAD --studies 20   # bench/results/verdict.json and .md
    python -m bench.verdict --keep-before --after HEAD                   # re-measure after only, same before runs
    python -m bench.verdict --resume --after d8c50a0 --studies 20        # same revisions: run only the missing seeds

- null: the label depends on the image alone (P(y=1) = sigmoid(2a), a the disc brightness); the numeric
  columns are noise. No fusion can truly beat the image alone: every "Fusion helped" is a false claim.
- interaction: P(y=1) = sigmoid(2a + 2b + ab), b measured by a numeric column. Fusion truly helps
  (Bayes AUC 0.915, 0.903 with a and b added, against 0.78 for the image alone and 0.78 for the numbers alone).

Each study: 400 rows, 16 px images, the small space below, 16 trials, 5 folds, default settings otherwise
(the later version confirms on fresh folds with its default repeats). Two studies run at once, one CPU
thread each.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
from PIL import Image

from bench._results import RESULTS
from bench._versions import cli_module, installed, revision_name
from fusion_search.data import disc_image

ROWS, SIZE, TRIALS, FOLDS = 400, 16, 16, 5
KINDS = {"null": (2.0, 0.0, 0.0), "interaction": (2.0, 2.0, 1.0)}  # weights of a, b, a*b in the logit
SPACE = """
description: bench/verdict.py - small CNN on 16 px discs, heads and rates searched
fixed: {backbone: small_cnn, weights: none, image_size: 16, trainable_blocks: 3, epochs: 15, patience: 3,
        numeric_layers: 1, numeric_width: 16, head_layers: 1, batch_size: 32,
        multiply_image_activation: sigmoid, multiply_numeric_activation: relu}
search:
  fusion: {choices: [concat, add, multiply, gated, late]}
  image_units: {low: 4, high: 32, log: true}
  numeric_units: {low: 4, high: 32, log: true}
  fusion_units: {low: 4, high: 32, log: true}
  head_units: {low: 4, high: 32, log: true}
  lr_image: {low: 1.0e-3, high: 2.0e-2, log: true}
  lr_backbone: {low: 1.0e-3, high: 2.0e-2, log: true}
  lr_numeric: {low: 1.0e-3, high: 2.0e-2, log: true}
  lr_fusion: {low: 1.0e-3, high: 2.0e-2, log: true}
"""


def planted(folder: Path, kind: str, seed: int) -> Path:
    """images/ and manifest.csv of one planted task."""
    rng = np.random.default_rng([seed, list(KINDS).index(kind)])
    a, b = rng.normal(size=ROWS), rng.normal(size=ROWS)
    wa, wb, wab = KINDS[kind]
    labels = (rng.random(ROWS) < 1 / (1 + np.exp(-(wa * a + wb * b + wab * a * b)))).astype(int)
    return write_planted(folder, a, b, labels, rng)


def write_planted(folder: Path, a: np.ndarray, b: np.ndarray, labels, rng: np.random.Generator) -> Path:
    """images/ (a disc of brightness a per row) and manifest.csv (label; b measured with noise; a noise column)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "measurement", "noise"])
        for i in range(ROWS):
            Image.fromarray(disc_image(a[i], SIZE, rng)).save(folder / "images" / f"{i}.png")
            writer.writerow([f"images/{i}.png", labels[i], f"{b[i] + 0.2 * rng.normal():.4f}", f"{rng.normal():.4f}"])
    return folder / "manifest.csv"


def headline(cli: tuple[Path, str], manifest: Path, space: Path, seed: int, work: Path) -> tuple[str, float]:
    """Run one study with a version's CLI; (its report's headline, seconds)."""
    python, module = cli
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
           "FUSION_SEARCH_CACHE": str(work / "cache")}
    storage = f"sqlite:///{work / 'study.db'}"
    started = time.perf_counter()
    for argv in (["run", "--data", str(manifest), "--study", "s", "--space", str(space), "--trials", str(TRIALS),
                  "--folds", str(FOLDS), "--seed", str(seed), "--quiet", "--storage", storage],
                 ["report", "--study", "s", "--storage", storage, "--output", str(work / "report.html")]):
        result = subprocess.run([str(python), "-m", module, *argv], capture_output=True, text=True, env=env,
                                cwd=work, timeout=3600)
        if result.returncode != 0:
            raise RuntimeError(f"{module} {argv[0]} failed: {result.stderr[-2000:]}")
    return result.stdout.strip().splitlines()[0], time.perf_counter() - started


def one(version: str, cli: tuple[Path, str], kind: str, seed: int, root: Path) -> dict:
    work = root / f"{version}-{kind}-{seed}"
    work.mkdir(parents=True)
    space = work / "space.yaml"
    space.write_text(SPACE)
    text, seconds = headline(cli, planted(work / "data", kind, seed), space, seed, work)
    print(f"{version:6} {kind:11} seed {seed:2}  {seconds:5.0f} s  {text[:110]}", flush=True)
    return {"version": version, "kind": kind, "seed": seed, "seconds": round(seconds, 1), "headline": text,
            "claims_fusion_helped": text.startswith("Fusion helped")}


def measure(before: str, after: str, studies: int, kept: list[dict] | None = None, resume: bool = False,
            extra: dict | None = None) -> dict:
    """Run both versions' studies, saving the result (with `extra` keys) after every study, so an interrupted run
    keeps what it measured. `kept`: an earlier result's runs; its before runs are reused, and with `resume` (same
    revisions) its after runs too, so only the missing seeds run."""
    runs = [r for r in kept or [] if r["seed"] < studies and (r["version"] == "before" or resume)]
    have = {(r["version"], r["kind"], r["seed"]) for r in runs}
    lock = threading.Lock()

    def run(job, versions: dict, folder: str) -> None:
        measured = one(job[0], versions[job[0]], *job[1:], Path(folder))
        with lock:
            runs.append(measured)
            save({**summarize(before, after, studies, runs), **(extra or {})})

    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        jobs = [(v, kind, seed) for v in ("after", "before") for seed in range(studies) for kind in KINDS
                if (v, kind, seed) not in have]  # after first: a run cut short still measured the change
        names = {v for v, _, _ in jobs}
        pythons = {name: stack.enter_context(installed(revision, Path(folder)))
                   for name, revision in zip(("before", "after"), (before, after)) if name in names}
        versions = {name: (python, cli_module(python)) for name, python in pythons.items()}
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda job: run(job, versions, folder), jobs))
    return {**summarize(before, after, studies, runs), **(extra or {})}


def summarize(before: str, after: str, studies: int, runs: list[dict]) -> dict:
    """The result: claim rates per version and kind over the runs each has, and every run."""
    counts = {f"{v}/{k}": sum((r["version"], r["kind"]) == (v, k) for r in runs) for v in ("before", "after")
              for k in KINDS}
    summary = {key: sum(r["claims_fusion_helped"] for r in runs if f"{r['version']}/{r['kind']}" == key)
               / max(1, count) for key, count in counts.items()}
    return {"before": revision_name(before), "after": revision_name(after), "studies_per_kind": studies, "rows": ROWS,
            "trials": TRIALS, "folds": FOLDS, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "studies": counts, "claim_rate": summary, "runs": sorted(runs, key=lambda r: (r["version"], r["kind"],
                                                                                          r["seed"]))}


def save(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "verdict.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "verdict.md").write_text(markdown(result))


def markdown(result: dict) -> str:
    rate = result["claim_rate"]
    lines = [f"# How often the headline says \"Fusion helped\" (`python -m bench.verdict --before {result['before']}`)",
             "", f"{_counts(result)} independent studies per kind and version, each {result['rows']} rows, "
             f"{result['trials']} trials, {result['folds']} folds, run and reported by that version's own CLI; "
             f"{result['machine']}. Before: {result['before']}; after: {result['after']}.", "",
             "| planted data | truth | target | before | after |", "|---|---|---|---:|---:|",
             f"| null (numbers carry no information) | fusion cannot help | ≤ 5% | {rate['before/null']:.0%} | "
             f"{rate['after/null']:.0%} |",
             f"| interaction (a·b in the label) | fusion helps | ≥ 80% | {rate['before/interaction']:.0%} | "
             f"{rate['after/interaction']:.0%} |", "",
             *[f"Earlier after ({e['after']}): null {e['claim_rate']['after/null']:.0%}, interaction "
               f"{e['claim_rate']['after/interaction']:.0%}." for e in result.get("earlier_after", [])],
             "", "Studies whose confirmed fusion candidate was an ensemble (a blend of trials that sees both inputs): "
             + ", ".join(f"{v} {k} {sum('best fusion design (ensemble' in r['headline'] for r in result['runs'] if (r['version'], r['kind']) == (v, k))}"
                         f"/{result.get('studies', {}).get(f'{v}/{k}', result['studies_per_kind'])}"
                         for v in ("before", "after") for k in KINDS) + ".",
             "", "Headlines of every study are in verdict.json."]
    return "\n".join(lines) + "\n"


def _counts(result: dict) -> str:
    counts = result.get("studies") or {}
    if len(set(counts.values())) <= 1:
        return str(result["studies_per_kind"])
    return "; ".join(f"{key} {count}" for key, count in counts.items()) + " (studies)"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verdict")
    parser.add_argument("--before", help="git revision measured as before")
    parser.add_argument("--keep-before", action="store_true",
                        help="reuse the before runs of bench/results/verdict.json (running only before seeds it "
                             "lacks) and measure --after again")
    parser.add_argument("--after", default="HEAD", help="git revision measured as after (%(default)s)")
    parser.add_argument("--studies", type=int, default=20, help="studies per kind and version (%(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="reuse every run of bench/results/verdict.json (same revisions) and run the missing seeds")
    args = parser.parse_args()
    kept = None
    if args.resume:
        earlier = json.loads((RESULTS / "verdict.json").read_text())
        if (earlier["before"], earlier["after"]) != (revision_name(args.before or earlier["before"]),
                                                     revision_name(args.after)):
            parser.error(f"verdict.json measured {earlier['before']} -> {earlier['after']}; --resume needs the same")
        if (earlier["rows"], earlier["trials"], earlier["folds"]) != (ROWS, TRIALS, FOLDS):
            parser.error("verdict.json was measured with other rows, trials or folds; --resume needs the same")
        kept, args.before = earlier["runs"], earlier["before"]
    elif args.keep_before:
        earlier = json.loads((RESULTS / "verdict.json").read_text())
        kept, args.before = earlier["runs"], earlier["before"]
    elif not args.before:
        parser.error("give --before REVISION, or --keep-before to reuse the recorded before runs")
    extra = None
    if args.resume:
        extra = {"earlier_after": earlier.get("earlier_after", [])}
    elif args.keep_before:
        extra = {"earlier_after": earlier.get("earlier_after", []) + [
            {"after": earlier["after"], "claim_rate": {k: v for k, v in earlier["claim_rate"].items() if "after" in k}}]}
    result = measure(args.before, args.after, args.studies, kept, resume=args.resume, extra=extra)
    save(result)
    print(markdown(result))


if __name__ == "__main__":
    main()
