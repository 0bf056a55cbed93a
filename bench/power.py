"""How often the verdict finds a real gain (power), and how often it claims one that is not there, at the sizes users
start with; one commit against another, each study run by that version's own CLI (bench/_versions.py).

    python -m bench.power --before 3d0bb9b --after HEAD --sizes 120,400,1000 --seeds 5   # power.json and power.md
    python -m bench.power --after HEAD --sizes 120 --seeds 5 --resume                     # run only what is missing

Generators (each writes a manifest of images and a table; `null` sets the table's weights to zero, so the table
carries nothing and every "Fusion helped" is a false claim):
- demo: `make demo`'s own data, P(y=1) = sigmoid(1.6a + 0.9b + 1.6ab); a is a disc's brightness, b a measured column;
- hue: a square whose hue encodes a, at a random brightness, on noise; P(y=1) = sigmoid(1.2a + 0.8b + 1.8ab).
The ceilings (the AUC of the true probability with both inputs, and of its mean given the image alone) are computed
by simulation and written beside the rates. Sizes: 120 rows / 8 trials / 3 folds (a notebook), 400 / 16 / 5 (the
demo) and 1,000 / 24 / 5. Every study: `run --space quick`, default confirmation, then `report` (its first line is the
headline); the study's trials are read back for how many fusion trials fold pruning stopped.
"""

from __future__ import annotations

import argparse
import colorsys
import csv
import json
import os
import platform
import re
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import optuna
from PIL import Image
from sklearn.metrics import roc_auc_score

from bench._experiments import trained
from bench._results import RESULTS
from bench._versions import cli_module, installed, revision_name
from fusion_search.data import disc_image

SIZES = {120: (8, 3), 400: (16, 5), 1000: (24, 5)}  # rows: (trials, folds)
WEIGHTS = {"demo": (1.6, 0.9, 1.6), "hue": (1.2, 0.8, 1.8)}  # of a, b and a*b in the logit
IMAGE_SIZE = 32
BASELINES = ("image_only", "numeric_only", "gbdt_only")
LABELS = {"before": "main before fusion first tries and the pruning rule", "after": "with them",
          "after_856ebc8": "an earlier variant of the change: every first try on the image descriptors"}


def labels_of(generator: str, kind: str, a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    wa, wb, wab = WEIGHTS[generator]
    if kind == "null":
        wb = wab = 0.0
    return (rng.random(len(a)) < 1 / (1 + np.exp(-(wa * a + wb * b + wab * a * b)))).astype(int)


def hue_image(latent: float, rng: np.random.Generator) -> np.ndarray:
    """Noise, and a square whose hue rises with the latent (red to green), at a random brightness."""
    image = rng.normal(110, 30, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
    side = IMAGE_SIZE // 2
    y, x = rng.integers(0, IMAGE_SIZE - side, size=2)
    hue = 0.17 + 0.15 * np.tanh(latent / 1.5)
    colour = 255 * np.array(colorsys.hsv_to_rgb(hue, 0.8, rng.uniform(0.55, 0.95)))
    image[y:y + side, x:x + side] = colour + rng.normal(0, 12, size=(side, side, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def planted(folder: Path, generator: str, kind: str, rows: int, seed: int) -> Path:
    """images/ and manifest.csv of one study's data."""
    rng = np.random.default_rng([seed, rows, list(WEIGHTS).index(generator), kind == "null"])
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    labels = labels_of(generator, kind, a, b, rng)
    (folder / "images").mkdir(parents=True, exist_ok=True)
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "measurement", "noise_a", "noise_b"])
        for i in range(rows):
            image = disc_image(a[i], IMAGE_SIZE, rng) if generator == "demo" else hue_image(a[i], rng)
            Image.fromarray(image).save(folder / "images" / f"{i:05d}.png")
            gap = "" if rng.random() < 0.1 else f"{rng.normal():.4f}"
            writer.writerow([f"images/{i:05d}.png", labels[i], f"{b[i] + 0.2 * rng.normal():.4f}",
                             f"{rng.normal():.4f}", gap])
    return folder / "manifest.csv"


def ceilings(generator: str, rows: int = 200_000, seed: int = 0) -> dict:
    """AUC of the true probability given a and the measured b, and of its mean given a alone (the image's ceiling),
    by simulation (the measured b is b plus noise of sd 0.2, so the table's own ceiling is a little lower)."""
    rng = np.random.default_rng(seed)
    wa, wb, wab = WEIGHTS[generator]
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    labels = rng.random(rows) < 1 / (1 + np.exp(-(wa * a + wb * b + wab * a * b)))
    measured = b + 0.2 * rng.normal(size=rows)
    shrink = 1 / 1.04  # E[b | measured] for b ~ N(0, 1), noise sd 0.2; the residual sd is sqrt(0.04 / 1.04)
    draws = rng.normal(size=(64, 1))
    b_given = shrink * measured + np.sqrt(0.04 / 1.04) * draws
    both = np.mean(1 / (1 + np.exp(-(wa * a + wb * b_given + wab * a * b_given))), axis=0)
    image = np.mean(1 / (1 + np.exp(-(wa * a + (wb + wab * a) * draws))), axis=0)
    return {"both": round(float(roc_auc_score(labels, both)), 3), "image": round(float(roc_auc_score(labels, image)), 3)}


CI = re.compile(r"95% CI ([+-]\d\.\d+) to ([+-]\d\.\d+)")
DETECTABLE = re.compile(r"a true gain of ([+-]\d\.\d+) AUC or more")
GAIN = re.compile(r"(?:by|is) ([+-]\d\.\d+)")  # the first signed number: the gain over the best baseline


def study(cli: tuple[Path, str], manifest: Path, rows: int, seed: int, work: Path) -> dict:
    """Run one study with a version's CLI: its headline, seconds, and what fold pruning did to fusion."""
    python, module = cli
    trials, folds = SIZES[rows]
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
           "FUSION_SEARCH_CACHE": str(work / "cache"), "KERAS_HOME": str(work / "keras")}
    storage = f"sqlite:///{work / 'study.db'}"
    started = time.perf_counter()
    for argv in (["run", "--data", str(manifest), "--study", "s", "--space", "quick", "--trials", str(trials),
                  "--folds", str(folds), "--seed", str(seed), "--quiet", "--storage", storage],
                 ["report", "--study", "s", "--storage", storage, "--output", str(work / "report.html")]):
        result = subprocess.run([str(python), "-m", module, *argv], capture_output=True, text=True, env=env,
                                cwd=work, timeout=5400)
        if result.returncode != 0:
            raise RuntimeError(f"{module} {argv[0]} failed: {result.stderr[-2000:]}")
    seconds = time.perf_counter() - started
    text = result.stdout.strip().splitlines()[0]
    fusion = [t for t in trained(optuna.load_study(study_name="s", storage=storage))
              if t.user_attrs.get("fusion") not in BASELINES]
    interval, detectable, gain = CI.search(text), DETECTABLE.search(text), GAIN.search(text)
    return {"seconds": round(seconds, 1), "headline": text, "claims_fusion_helped": text.startswith("Fusion helped"),
            "fusion_trials": len(fusion), "fusion_pruned": sum(bool(t.user_attrs.get("pruned")) for t in fusion),
            "gain": float(gain.group(1)) if gain else None,
            "interval": [float(interval.group(1)), float(interval.group(2))] if interval else None,
            "detectable_gain": float(detectable.group(1)) if detectable else None}


def one(version: str, cli: tuple[Path, str], generator: str, kind: str, rows: int, seed: int, root: Path) -> dict:
    work = root / f"{version}-{generator}-{kind}-{rows}-{seed}"
    work.mkdir(parents=True)
    measured = study(cli, planted(work / "data", generator, kind, rows, seed), rows, seed, work)
    print(f"{version:6} {generator:4} {kind:4} {rows:5} seed {seed}  {measured['seconds']:5.0f} s  "
          f"fusion pruned {measured['fusion_pruned']}/{measured['fusion_trials']}  {measured['headline'][:90]}",
          flush=True)
    return {"version": version, "generator": generator, "kind": kind, "rows": rows, "seed": seed, **measured}


def key(run: dict) -> tuple:
    return run["version"], run["generator"], run["kind"], run["rows"], run["seed"]


def measure(revisions: dict[str, str], jobs: list[tuple], kept: list[dict], workers: int = 2) -> list[dict]:
    """Run the jobs (version, generator, kind, rows, seed) `workers` at a time, saving after every study."""
    runs, lock = list(kept), threading.Lock()

    def run(job, versions: dict, folder: str) -> None:
        measured = one(job[0], versions[job[0]], *job[1:], Path(folder))
        with lock:
            runs.append(measured)
            save(summarize(revisions, runs))

    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        names = {job[0] for job in jobs}
        versions = {}
        for name in names:
            python = stack.enter_context(installed(revisions[name], Path(folder)))
            versions[name] = (python, cli_module(python))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda job: run(job, versions, folder), jobs))
    return runs


def summarize(revisions: dict[str, str], runs: list[dict]) -> dict:
    cells = {}
    for run in sorted(runs, key=key):
        cell = cells.setdefault(f"{run['generator']}/{run['kind']}/{run['rows']}/{run['version']}", [])
        cell.append(run)
    table = {name: {"studies": len(cell), "claims": sum(r["claims_fusion_helped"] for r in cell),
                    "all_fusion_pruned": sum(r["fusion_trials"] > 0 and r["fusion_pruned"] == r["fusion_trials"]
                                             for r in cell),
                    "median_gain": _median([r["gain"] for r in cell]),
                    "median_detectable_gain": _median([r["detectable_gain"] for r in cell]),
                    "median_seconds": _median([r["seconds"] for r in cell])}
             for name, cell in cells.items()}
    return {"revisions": {name: revision_name(rev) for name, rev in revisions.items()},
            "machine": f"{platform.machine()}, {os.cpu_count()} cores", "sizes": {str(k): v for k, v in SIZES.items()},
            "ceilings": {name: ceilings(name) for name in WEIGHTS}, "cells": table,
            "runs": sorted(runs, key=key)}


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return round(float(np.median(values)), 4) if values else None


def save(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "power.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "power.md").write_text(markdown(result))


def markdown(result: dict) -> str:
    revisions = ", ".join(f"{name} {rev}" + (f" ({LABELS[name]})" if name in LABELS else "")
                          for name, rev in result["revisions"].items())
    ceilings_text = "; ".join(f"{name}: both inputs {c['both']}, image alone {c['image']}"
                              for name, c in result["ceilings"].items())
    lines = ["# How often the verdict says \"Fusion helped\" (`python -m bench.power`)", "",
             f"Revisions: {revisions}; {result['machine']}. Every study: `run --space quick` with default "
             "confirmation, then `report`, by that version's own CLI. Ceilings (AUC of the true probability, by "
             f"simulation): {ceilings_text}. `real`: the table carries its planted weight, so fusion truly helps and "
             "a claim is right (power); `null`: the table's weights are zero, so a claim is false.", "",
             "| generator | data | rows / trials / folds | version | studies | \"Fusion helped\" | every fusion trial "
             "pruned | median fresh-fold gain | median smallest detectable gain | median seconds |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, cell in result["cells"].items():
        generator, kind, rows, version = name.split("/")
        trials, folds = SIZES[int(rows)]
        lines.append(f"| {generator} | {kind} | {rows} / {trials} / {folds} | {version} | {cell['studies']} | "
                     f"{cell['claims']} | {cell['all_fusion_pruned']} | {_number(cell['median_gain'])} | "
                     f"{_number(cell['median_detectable_gain'])} | {_number(cell['median_seconds'], '.0f')} |")
    lines += ["", "Each study's headline is in power.json."]
    return "\n".join(lines) + "\n"


def _number(value: float | None, spec: str = "+.3f") -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.power")
    parser.add_argument("--before", help="git revision measured as before (none: after only)")
    parser.add_argument("--after", default="HEAD", help="git revision measured as after (%(default)s)")
    parser.add_argument("--sizes", default="120,400,1000", help="rows of the studies, among 120, 400, 1000")
    parser.add_argument("--seeds", type=int, default=5, help="studies per cell (%(default)s)")
    parser.add_argument("--generators", default="demo,hue", help="among demo, hue (%(default)s)")
    parser.add_argument("--kinds", default="real,null", help="real (fusion helps), null (the table carries nothing)")
    parser.add_argument("--resume", action="store_true", help="keep power.json's runs of the same revisions")
    parser.add_argument("--workers", type=int, default=2, help="studies at once, one CPU thread each (%(default)s)")
    args = parser.parse_args()
    revisions = {"after": revision_name(args.after), **({"before": revision_name(args.before)} if args.before else {})}
    # (resolved now: HEAD may move while a long run goes on)
    kept = []
    if args.resume and (RESULTS / "power.json").is_file():  # keep the runs of every revision measured again or not
        earlier = json.loads((RESULTS / "power.json").read_text())
        revisions = {**earlier["revisions"], **revisions}
        kept = [run for run in earlier["runs"]
                if revision_name(revisions[run["version"]]) == earlier["revisions"][run["version"]]]
    have = {key(run) for run in kept}
    sizes = [int(s) for s in args.sizes.split(",")]
    jobs = [(version, generator, kind, rows, seed) for rows in sizes for seed in range(args.seeds)
            for version in ("after", "before") if version in revisions and (version != "before" or args.before)
            for generator in args.generators.split(",") for kind in args.kinds.split(",")
            if (version, generator, kind, rows, seed) not in have]
    result = summarize(revisions, measure(revisions, jobs, kept, args.workers))
    save(result)
    print(markdown(result))


if __name__ == "__main__":
    main()
