"""Do the baselines learn on small data? Each study's baselines against a scikit-learn first try on the same folds,
one commit against another, each study run by that version's own CLI (bench/_versions.py installs each version).

    python -m bench.small_data --before 067e3b5 --after HEAD --seeds 5   # bench/results/small_data.json and .md
    python -m bench.small_data --before 067e3b5 --after 1d0a9b2 --resume # go on where an interrupted run stopped

Studies at 80, 120, 200 and 400 rows (3 folds, 5 at 400 rows), `--seeds` seeds each, on two generators:
- brightness: the demo generator (make_demo_dataset): the image's signal is the brightness of a disc;
- stripes: the image's signal is the orientation of stripes of random phase, at the same mean brightness, so no
  linear model of the pixels can read it (its anchor stays near 0.5) while a CNN can.
Each study is `run --space quick --trials N --confirm-repeats 0 --prune-p 0`: with N = 3 the three baselines at the
space's defaults, the first trials every study trains. Beside it, anchors on the study's folds (fold seed = the
study's --seed): a logistic regression on the standardised 32x32 pixels for image_only; a logistic regression and
HistGradientBoostingClassifier on the median-imputed, standardised numbers for numeric_only and gbdt_only.

Targets: every baseline's mean AUC >= its anchor - 0.03, averaged over the seeds at each size and generator; no
study has a baseline below 0.5.
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
import optuna
from PIL import Image
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from bench._versions import cli_module, installed, revision_name
from fusion_search.data import assign_folds, make_demo_dataset

RESULTS = Path(__file__).resolve().parent / "results"
SIZES = (80, 120, 200, 400)
GENERATORS = ("brightness", "stripes")
IMAGE_SIZE = 32
MARGIN = 0.03
ANCHOR_OF = {"image_only": "pixels_logistic", "numeric_only": "numbers_logistic", "gbdt_only": "numbers_trees"}


def folds_for(rows: int) -> int:
    return 5 if rows >= 400 else 3


def stripes_image(latent: float, rng: np.random.Generator) -> np.ndarray:
    """Stripes whose angle rises with the latent (0 to 90 degrees), random phase, noise; mean brightness ~128."""
    angle = (np.pi / 2) / (1 + np.exp(-1.5 * latent)) + rng.normal(0, 0.1)
    yy, xx = np.mgrid[:IMAGE_SIZE, :IMAGE_SIZE]
    wave = np.sin(2 * np.pi / 6 * (np.cos(angle) * xx + np.sin(angle) * yy) + rng.uniform(0, 2 * np.pi))
    image = 128 + 60 * wave[..., None] + rng.normal(0, 20, size=(IMAGE_SIZE, IMAGE_SIZE, 3))
    return np.clip(image, 0, 255).astype(np.uint8)


def stripes_dataset(folder: Path, rows: int, seed: int) -> Path:
    """The demo generator's table (label = sigmoid(2a + 1.2b + ab), b measured with noise) with stripes images."""
    rng = np.random.default_rng([seed, 7])
    (folder / "images").mkdir(parents=True, exist_ok=True)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    labels = (rng.random(rows) < 1 / (1 + np.exp(-(2 * a + 1.2 * b + a * b)))).astype(int)
    with (folder / "manifest.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "label", "measurement", "noise_a", "noise_b"])
        for i in range(rows):
            Image.fromarray(stripes_image(a[i], rng)).save(folder / "images" / f"{i:05d}.png")
            gap = "" if rng.random() < 0.1 else f"{rng.normal():.4f}"
            writer.writerow([f"images/{i:05d}.png", labels[i], f"{b[i] + 0.2 * rng.normal():.4f}",
                             f"{rng.normal():.4f}", gap])
    return folder / "manifest.csv"


def dataset(folder: Path, generator: str, rows: int, seed: int) -> Path:
    if generator == "brightness":
        return make_demo_dataset(folder, rows=rows, image_size=IMAGE_SIZE, seed=seed)
    return stripes_dataset(folder, rows, seed)


def anchors(manifest: Path, folds: int, seed: int) -> dict[str, float]:
    """Mean fold AUC of the scikit-learn first tries, on the folds a study with --seed seed and --folds folds uses."""
    with manifest.open() as handle:
        rows = list(csv.DictReader(handle))
    labels = np.array([int(r["label"]) for r in rows])
    pixels = np.array([np.asarray(Image.open(manifest.parent / r["image"]).convert("RGB"), np.float64).ravel()
                       for r in rows])
    numbers = np.array([[float(r[c]) if r[c] else np.nan for c in ("measurement", "noise_a", "noise_b")] for r in rows])
    fold_ids = assign_folds(labels, folds, seed)
    models = {
        "pixels_logistic": (pixels, lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))),
        "numbers_logistic": (numbers, lambda: make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                                            LogisticRegression(max_iter=5000))),
        "numbers_trees": (numbers, lambda: HistGradientBoostingClassifier(random_state=seed)),
    }
    out = {}
    for name, (features, model) in models.items():
        aucs = []
        for fold in range(folds):
            train, test = fold_ids != fold, fold_ids == fold
            fitted = model().fit(features[train], labels[train])
            aucs.append(roc_auc_score(labels[test], fitted.predict_proba(features[test])[:, 1]))
        out[name] = round(float(np.mean(aucs)), 4)
    return out


def study_baselines(cli: tuple[Path, str], manifest: Path, folds: int, seed: int, trials: int, work: Path) -> dict:
    """Run one study with a version's CLI; each baseline's best mean AUC in it."""
    python, module = cli
    env = {**os.environ, "TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
           "FUSION_SEARCH_CACHE": str(work / "cache")}
    storage = f"sqlite:///{work / 'study.db'}"
    argv = ["run", "--data", str(manifest), "--study", "s", "--space", "quick", "--trials", str(trials),
            "--folds", str(folds), "--seed", str(seed), "--quiet", "--storage", storage, "--confirm-repeats", "0",
            "--prune-p", "0"]
    result = subprocess.run([str(python), "-m", module, *argv], capture_output=True, text=True, env=env, cwd=work,
                            timeout=3600)
    if result.returncode != 0:
        raise RuntimeError(f"{module} run failed: {result.stderr[-2000:]}")
    study = optuna.load_study(study_name="s", storage=storage)
    best: dict[str, float] = {}
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        fusion = trial.user_attrs.get("fusion")
        if fusion in ANCHOR_OF and not trial.user_attrs.get("pruned"):
            best[fusion] = round(max(best.get(fusion, 0.0), trial.value), 4)
    return best


def one(version: str, cli: tuple[Path, str], generator: str, rows: int, seed: int, trials: int, root: Path) -> dict:
    work = root / f"{version}-{generator}-{rows}-{seed}"
    work.mkdir(parents=True)
    manifest = dataset(work / "data", generator, rows, seed)
    folds = folds_for(rows)
    started = time.perf_counter()
    baselines = study_baselines(cli, manifest, folds, seed, trials, work)
    seconds = time.perf_counter() - started
    anchor = anchors(manifest, folds, seed)
    print(f"{version:6} {generator:10} {rows:4} rows seed {seed}  {seconds:5.0f} s  "
          + "  ".join(f"{name} {auc:.3f} (anchor {anchor[ANCHOR_OF[name]]:.3f})" for name, auc in baselines.items()),
          flush=True)
    return {"version": version, "generator": generator, "rows": rows, "folds": folds, "seed": seed,
            "seconds": round(seconds, 1), "baselines": baselines, "anchors": anchor}


def summarize(runs: list[dict]) -> list[dict]:
    """Per version, generator, size and baseline: mean AUC and mean anchor over the seeds, the target, and the
    smallest baseline AUC of any study."""
    table = []
    for version in ("before", "after"):
        for generator in GENERATORS:
            for rows in SIZES:
                group = [r for r in runs if (r["version"], r["generator"], r["rows"]) == (version, generator, rows)]
                for name, anchor in ANCHOR_OF.items():
                    pairs = [(r["baselines"][name], r["anchors"][anchor]) for r in group if name in r["baselines"]]
                    if not pairs:
                        continue
                    mean, anchor_mean = float(np.mean([p[0] for p in pairs])), float(np.mean([p[1] for p in pairs]))
                    table.append({"version": version, "generator": generator, "rows": rows, "baseline": name,
                                  "studies": len(pairs), "mean_auc": round(mean, 4), "anchor": round(anchor_mean, 4),
                                  "lowest": round(min(p[0] for p in pairs), 4),
                                  "meets": bool(mean >= anchor_mean - MARGIN and min(p[0] for p in pairs) >= 0.5)})
    return table


def measure(before: str, after: str, seeds: int, trials: int, workers: int = 2, done: list[dict] | None = None) -> dict:
    """Run both versions' studies (those not already in ``done``, an earlier run's studies of the same revisions),
    writing the results after every study, so an interrupted run keeps what it measured and --resume goes on."""
    result = {"before": revision_name(before), "after": revision_name(after), "seeds": seeds, "trials": trials,
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "runs": list(done or [])}
    have = {(r["version"], r["generator"], r["rows"], r["seed"]) for r in result["runs"]}
    lock = threading.Lock()

    def run(job) -> None:
        measured = one(*job, trials, Path(folder))
        with lock:
            result["runs"].append(measured)
            save(result)

    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        pythons = {name: stack.enter_context(installed(revision, Path(folder)))
                   for name, revision in (("before", before), ("after", after))}
        versions = {name: (python, cli_module(python)) for name, python in pythons.items()}
        jobs = [(v, cli, g, rows, seed) for seed in range(seeds) for rows in SIZES for g in GENERATORS
                for v, cli in versions.items() if (v, g, rows, seed) not in have]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(run, jobs))
    return result


def save(result: dict) -> None:
    result["summary"] = summarize(result["runs"])
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "small_data.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "small_data.md").write_text(markdown(result))


def markdown(result: dict) -> str:
    lines = [f"# Baselines on small data against a scikit-learn first try (`python -m bench.small_data --before "
             f"{result['before']}`)", "",
             f"{result['seeds']} seeds planned per size and generator ({len(result['runs'])} studies ran; the table says "
             f"how many each mean has), `--space quick --trials {result['trials']}`, 3 folds "
             f"(5 at 400 rows), each study run by that version's own CLI; {result['machine']}. Before: "
             f"{result['before']}; after: {result['after']}. Target: mean AUC >= anchor - {MARGIN} at each size, and "
             "no study's baseline below 0.5.", "",
             "| generator | rows | baseline | anchor | before: mean (lowest, studies) | after: mean (lowest, studies) | target met "
             "before / after |", "|---|---:|---|---:|---:|---:|---|"]
    cells = {(s["version"], s["generator"], s["rows"], s["baseline"]): s for s in result["summary"]}
    for generator in GENERATORS:
        for rows in SIZES:
            for name in ANCHOR_OF:
                before, after = cells.get(("before", generator, rows, name)), cells.get(("after", generator, rows, name))
                if after is None:
                    continue
                show = (lambda s: "-" if s is None else f"{s['mean_auc']:.3f} ({s['lowest']:.3f}, {s['studies']} studies)")
                met = (lambda s: "-" if s is None else ("yes" if s["meets"] else "**no**"))
                lines.append(f"| {generator} | {rows} | {name} | {after['anchor']:.3f} | {show(before)} | "
                             f"{show(after)} | {met(before)} / {met(after)} |")
    every = [s for s in result["summary"] if s["version"] == "after"]
    lines += ["", f"After: {sum(s['meets'] for s in every)} of {len(every)} rows meet the target. Every study's "
              "numbers are in small_data.json."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.small_data")
    parser.add_argument("--before", required=True, help="git revision measured as before")
    parser.add_argument("--after", default="HEAD", help="git revision measured as after (%(default)s)")
    parser.add_argument("--seeds", type=int, default=5, help="studies per size and generator (%(default)s)")
    parser.add_argument("--trials", type=int, default=3, help="trials per study (%(default)s: the three baselines)")
    parser.add_argument("--workers", type=int, default=2, help="studies at once, one CPU thread each (%(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the studies of bench/results/small_data.json (same revisions) and run the rest")
    args = parser.parse_args()
    done = None
    if args.resume:
        earlier = json.loads((RESULTS / "small_data.json").read_text())
        if (earlier["before"], earlier["after"]) != (revision_name(args.before), revision_name(args.after)):
            parser.error(f"small_data.json measured {earlier['before']} -> {earlier['after']}; --resume needs the same")
        done = earlier["runs"]
    result = measure(args.before, args.after, args.seeds, args.trials, args.workers, done)
    save(result)
    print(markdown(result))


if __name__ == "__main__":
    main()
