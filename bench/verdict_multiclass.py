"""How often the headline claims "fusion helped" on four classes, on planted data where we know the answer: the
K-class twin of bench/verdict.py (same space, rows, trials and folds, each study run and reported by one
installed revision's own CLI). Before issue 22 a label of four classes was refused; the earlier measurement of
9cea9eb (before the shuffled control) is kept in the page as its "before".

    python -m bench.verdict_multiclass --studies 20            # bench/results/verdict_multiclass.json and .md
    python -m bench.verdict_multiclass --studies 20 --resume   # same revision: run only the missing seeds

Four classes, string labels; latent a is the disc brightness, b is measured (with noise) by a numeric column:

- null: class k has logit 2 c_k a - c_k^2, c = (-1.5, -0.5, 0.5, 1.5): the image orders the classes and the numbers
  carry nothing, so every "Fusion helped" is a false claim.
- interaction: class k has logit 2 (s_k a + t_k b), s = (+, +, -, -), t = (+, -, +, -): the image tells classes
  0-1 from 2-3, only the numbers tell 0 from 1 and 2 from 3, so fusion truly helps.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from scipy.special import softmax

from bench._results import RESULTS
from bench._versions import cli_module, installed, revision_name
from bench.verdict import FOLDS, ROWS, SPACE, TRIALS, headline, write_planted

CLASSES = ("akiec", "bcc", "bkl", "df")
KINDS = ("null", "interaction")
NAME = "verdict_multiclass"
EARLIER = ("Before the shuffled control (9cea9eb, 26 of the 40 studies run): null 1 false claim in 14 studies (7%; "
           "seed 2, a 7-trial concat ensemble over a 2-trial image_only one, +0.013, p = 0.017), interaction 12 of 12.")


def class_logits(kind: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(rows, 4) logits of the planted classes."""
    if kind == "null":
        c = np.array([-1.5, -0.5, 0.5, 1.5])
        return 2 * a[:, None] * c - c ** 2
    s, t = np.array([1, 1, -1, -1]), np.array([1, -1, 1, -1])
    return 2 * (a[:, None] * s + b[:, None] * t)


def planted(folder: Path, kind: str, seed: int) -> Path:
    """images/ and manifest.csv of one planted four-class task."""
    rng = np.random.default_rng([seed, KINDS.index(kind), 4])
    a, b = rng.normal(size=ROWS), rng.normal(size=ROWS)
    labels = [CLASSES[rng.choice(len(CLASSES), p=p)] for p in softmax(class_logits(kind, a, b), axis=1)]
    return write_planted(folder, a, b, labels, rng)


def one(cli: tuple[Path, str], kind: str, seed: int, root: Path) -> dict:
    work = root / f"{kind}-{seed}"
    work.mkdir(parents=True)
    space = work / "space.yaml"
    space.write_text(SPACE)
    text, seconds = headline(cli, planted(work / "data", kind, seed), space, seed, work)
    print(f"{kind:11} seed {seed:2}  {seconds:5.0f} s  {text[:110]}", flush=True)
    return {"kind": kind, "seed": seed, "seconds": round(seconds, 1), "headline": text,
            "claims_fusion_helped": text.startswith("Fusion helped")}


def measure(revision: str, studies: int, kept: list[dict] | None = None) -> dict:
    """Run the studies not in `kept`, saving the result after every study (an interrupted run keeps what it
    measured); two at a time, one CPU thread each."""
    revision = revision_name(revision)  # once: HEAD may move while the studies run
    runs = [r for r in kept or [] if r["seed"] < studies]
    have = {(r["kind"], r["seed"]) for r in runs}
    lock = threading.Lock()
    jobs = [(kind, seed) for seed in range(studies) for kind in KINDS if (kind, seed) not in have]
    with tempfile.TemporaryDirectory() as folder, installed(revision, Path(folder)) as python:
        cli = (python, cli_module(python))

        def run(job) -> None:
            measured = one(cli, *job, Path(folder))
            with lock:
                runs.append(measured)
                save(summarize(revision, studies, runs))

        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(run, jobs))
    return summarize(revision, studies, runs)


def summarize(revision: str, studies: int, runs: list[dict]) -> dict:
    counts = {kind: sum(r["kind"] == kind for r in runs) for kind in KINDS}
    claims = {kind: sum(r["claims_fusion_helped"] for r in runs if r["kind"] == kind) for kind in KINDS}
    return {"revision": revision, "studies_per_kind": studies, "classes": len(CLASSES), "rows": ROWS,
            "trials": TRIALS, "folds": FOLDS, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "studies": counts, "claims": claims,
            "claim_rate": {kind: claims[kind] / max(1, counts[kind]) for kind in KINDS},
            "mean_seconds": round(float(np.mean([r["seconds"] for r in runs])), 1) if runs else None,
            "runs": sorted(runs, key=lambda r: (r["kind"], r["seed"]))}


def save(result: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{NAME}.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / f"{NAME}.md").write_text(markdown(result))


def markdown(result: dict) -> str:
    counts, claims = result["studies"], result["claims"]
    lines = [f"# How often the headline says \"Fusion helped\" on four classes (`python -m bench.{NAME}`)", "",
             f"Independent studies of {result['classes']} classes (string labels), each {result['rows']} rows, "
             f"{result['trials']} trials, {result['folds']} folds, bench/verdict.py's space, run and reported by "
             f"the CLI of {result['revision']}; {result['machine']}, two studies at a time "
             f"(mean {result['mean_seconds']} s a study). Asked: {result['studies_per_kind']} per kind.", "",
             "| planted data | truth | target | studies | claims | rate |", "|---|---|---|---:|---:|---:|",
             f"| null (numbers carry no information) | fusion cannot help | ≤ 5% | {counts['null']} | "
             f"{claims['null']} | {result['claim_rate']['null']:.0%} |",
             f"| interaction (only the numbers tell 0 from 1, 2 from 3) | fusion helps | ≥ 80% | "
             f"{counts['interaction']} | {claims['interaction']} | {result['claim_rate']['interaction']:.0%} |",
             "", *control_lines(result["runs"]), "", EARLIER, "", "Headlines of every study are in verdict_multiclass.json."]
    return "\n".join(lines) + "\n"


BLOCKED = "but against itself with"  # the headline's words when fusion beat the baseline but not its shuffled control


def control_lines(runs: list[dict]) -> list[str]:
    """How often the shuffled control alone stopped a claim (fusion beat the best single modality, p < 0.05, but not
    itself with the other input shuffled), per kind; nothing for a revision without the control."""
    if not any("shuffled" in r["headline"] for r in runs):
        return []
    counts = {kind: (sum(BLOCKED in r["headline"] for r in runs if r["kind"] == kind),
                     sum(r["kind"] == kind for r in runs)) for kind in KINDS}
    return ["Studies in which fusion beat the best single modality on the fresh folds (one-sided p < 0.05) but not "
            "its own shuffled control, so the headline made no claim: "
            + "; ".join(f"{kind} {blocked} of {total}" for kind, (blocked, total) in counts.items()) + "."]


def main() -> None:
    parser = argparse.ArgumentParser(prog=f"python -m bench.{NAME}")
    parser.add_argument("--revision", default="HEAD", help="git revision measured (%(default)s)")
    parser.add_argument("--studies", type=int, default=20, help="studies per kind (%(default)s)")
    parser.add_argument("--resume", action="store_true",
                        help=f"reuse the runs of bench/results/{NAME}.json (same revision) and run the missing seeds")
    args = parser.parse_args()
    kept = None
    if args.resume:
        earlier = json.loads((RESULTS / f"{NAME}.json").read_text())
        if earlier["revision"] != revision_name(args.revision):
            parser.error(f"{NAME}.json measured {earlier['revision']}; --resume needs the same revision")
        kept = earlier["runs"]
    result = measure(args.revision, args.studies, kept)
    save(result)
    print(markdown(result))


if __name__ == "__main__":
    main()
