"""fusion-search: a thin command line over the library (fusion_search.search and the packages below it).

Parsing imports nothing of the library: each subcommand's module is imported once it is chosen, so
``--help`` and a mistyped flag answer at once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fusion_search._errors import UserError

DEMO_FOLDER = Path("fusion-search-demo")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `launch` hands these on to its workers
    if args.handler == "storage_proxy":
        from fusion_search.cli import _serve as commands  # the proxy needs the storage layer only
    else:
        from fusion_search.cli import _commands as commands  # the library loads once a subcommand is chosen

    try:
        return commands.dispatch(args)
    except UserError as error:
        print(f"fusion-search: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fusion-search: interrupted", file=sys.stderr)
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fusion-search", description=(
        "Search image + numeric fusion designs by k-fold cross-validated ROC AUC, "
        "and see whether fusion beats the best single modality."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="run a short search on built-in synthetic data and print a leaderboard")
    demo.add_argument("--folder", type=Path, default=DEMO_FOLDER, help="where the demo data is written (%(default)s)")
    demo.add_argument("--rows", type=int, default=400, help="samples in the demo data (%(default)s)")
    demo.add_argument("--trials", type=int, default=16, help="trials in the study in total (%(default)s)")
    demo.add_argument("--study", default="demo", help="study name (%(default)s)")
    _common_run_flags(demo, space_default="quick", folds_default=5)
    demo.set_defaults(handler="demo")

    run = sub.add_parser("run", help="create or resume a study and run trials in this process")
    run.add_argument("--data", type=Path, required=True, help="manifest CSV (image path, label, numeric columns)")
    run.add_argument("--study", required=True, help="study name")
    run.add_argument("--trials", type=int, default=20, help="trials in the study in total, baselines included (%(default)s)")
    _manifest_flags(run)
    _common_run_flags(run, space_default="auto", folds_default=5)
    _worker_flags(run)
    run.set_defaults(handler="run")

    launch = sub.add_parser("launch", help="start N local `run` workers on one study (one GPU each with --gpus)")
    launch.add_argument("--workers", type=int, default=None, help="worker processes to start (default: one per GPU)")
    launch.add_argument("--gpus", default=None, help=(
        "comma-separated GPU ids handed out round-robin (e.g. 0,1), or all: every GPU the machine shows"))
    launch.add_argument("--data", type=Path, required=True, help="manifest CSV (image path, label, numeric columns)")
    launch.add_argument("--study", required=True, help="study name")
    launch.add_argument("--trials", type=int, default=20, help="trials in the study in total, over all workers (%(default)s)")
    _manifest_flags(launch)
    _common_run_flags(launch, space_default="auto", folds_default=5)
    _worker_flags(launch)
    launch.set_defaults(handler="launch")

    confirm = sub.add_parser("confirm", help="train the study's best fusion design and best baselines again on fresh "
                                             "folds and test the difference (run does this when the study is full)")
    confirm.add_argument("--study", required=True)
    confirm.add_argument("--data", type=Path, required=True, help="the study's manifest CSV")
    confirm.add_argument("--repeats", type=int, default=None, help=(
        "new partitions of the study's rows (default: about 20%% of the search's cost)"))
    confirm.add_argument("--folds", type=int, default=None, help=(
        "folds of each partition (default 10, the study's k where the rows do not allow that many; a confirmation "
        "already planned keeps its own)"))
    confirm.add_argument("--quiet", action="store_true", help="no progress display")
    _manifest_flags(confirm)
    _storage_flag(confirm)
    confirm.set_defaults(handler="confirm")

    status = sub.add_parser("status", help="trials by state, best trial per fusion type, the baselines")
    status.add_argument("--study", required=True)
    _storage_flag(status)
    status.set_defaults(handler="status")

    export = sub.add_parser("export", help=(
        "what the verdict stands behind (or --trial N, --ensemble SIDE) as JSON or YAML, and optionally a trained "
        "model"))
    export.add_argument("--study", required=True)
    export.add_argument("--output", type=Path, default=None, help="record file to write (default: best.json or best.yaml)")
    export.add_argument("--format", choices=["json", "yaml"], default="json", help="record format (%(default)s)")
    export.add_argument("--trial", type=int, default=None, help=(
        "export this trial number instead of what the verdict stands behind (the confirmed fusion candidate, else "
        "the best single modality on the fresh folds; before any confirmation, the search's best trial)"))
    export.add_argument("--ensemble", choices=["fusion", "image", "numeric"], default=None, help=(
        "export the study's ensemble of this side instead of what the verdict stands behind (--model: a folder "
        "ending in .ensemble)"))
    export.add_argument("--model", type=Path, default=None,
                        help="also retrain the choice on all the data and save it here: a .keras file, a .fusion "
                             "folder for tree/stacked designs, or a folder ending in .ensemble when the choice is an "
                             "ensemble; needs --data")
    export.add_argument("--data", type=Path, default=None, help="the study's manifest CSV (with --model)")
    _manifest_flags(export)
    _storage_flag(export)
    _artifact_flag(export, "the exported --model is also uploaded there, for the dashboard")
    export.set_defaults(handler="export")

    dashboard = sub.add_parser("dashboard", help="browse the studies in optuna-dashboard")
    dashboard.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s: this machine only)")
    dashboard.add_argument("--port", type=int, default=8080, help="port (%(default)s)")
    dashboard.add_argument("--study", help="the study whose verdict the printed address opens on (default: the "
                                           "most recently created one)")
    _storage_flag(dashboard)
    _artifact_flag(dashboard, "exported models are served from there")
    dashboard.set_defaults(handler="dashboard")

    proxy = sub.add_parser("storage-proxy", help=(
        "serve the study database to many workers over gRPC (workers use --storage grpc://HOST:PORT)"))
    proxy.add_argument("--host", default="127.0.0.1", help="address to listen on (%(default)s; 0.0.0.0 for other machines)")
    proxy.add_argument("--port", type=int, default=13000, help="port (%(default)s)")
    _storage_flag(proxy)
    proxy.set_defaults(handler="storage_proxy")

    report = sub.add_parser("report", help="one self-contained HTML page: does fusion help on this data?")
    report.add_argument("--study", required=True)
    report.add_argument("--output", type=Path, default=Path("report.html"), help="HTML file to write (%(default)s)")
    _storage_flag(report)
    report.set_defaults(handler="report")

    predict = sub.add_parser("predict", help="score a manifest with an exported model (one design or an ensemble)")
    predict.add_argument("--model", type=Path, required=True, help=(
        "what export --model wrote: a .keras file, a .fusion folder (trees or stacking) or an .ensemble folder "
        "(an ensemble of trials, scored as their weighted blend)"))
    predict.add_argument("--data", type=Path, required=True, help="manifest CSV to score (label column optional)")
    predict.add_argument("--output", type=Path, default=Path("predictions.csv"), help="CSV to write (%(default)s)")
    predict.add_argument("--image-column", default="image", help="column with image paths (%(default)s)")
    predict.add_argument("--label-column", default=None, help=(
        "column with labels, if any (default: the one the model was trained on, recorded at export; else label)"))
    predict.add_argument("--positive", default=None, help=(
        "label value of the positive class (default: the model's, recorded at export; else 1 of 0/1)"))
    predict.set_defaults(handler="predict")

    spaces = sub.add_parser("spaces", help="list the shipped search spaces, or show one resolved")
    spaces.add_argument("action", nargs="?", choices=["list", "show"], default="list")
    spaces.add_argument("space", nargs="?", help="space name or YAML path (with show)")
    spaces.set_defaults(handler="spaces")
    return parser


def _artifact_flag(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--artifact-dir", default=None, help=(
        f"the studies' artifact folder: {what} (default $FUSION_SEARCH_ARTIFACTS, else <cache>/artifacts for a "
        "SQLite study; a shared database needs one, e.g. on shared storage)"))


def _storage_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", default=None, help=(
        "storage URL without a password, or grpc://HOST:PORT of a storage-proxy "
        "(default: $FUSION_SEARCH_STORAGE, else sqlite:///fusion-search.db)"))


def _common_run_flags(parser: argparse.ArgumentParser, space_default: str, folds_default: int) -> None:
    parser.add_argument("--space", default=space_default, help=(
        "space name or YAML path (%(default)s; auto: the study's own space when it exists, else default on a GPU, "
        "balanced on a CPU)"))
    parser.add_argument("--folds", type=int, default=folds_default, help="k of k-fold cross-validation (%(default)s)")
    parser.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    parser.add_argument("--seed", type=int, default=0, help="seed of folds, sampler and training (%(default)s)")
    parser.add_argument("--prune-p", type=float, default=0.3, help=(
        "fold pruning: stop a trial when a Wilcoxon test over its folds so far says it is worse than the "
        "best, at this p-value (%(default)s; 0 = never prune)"))
    parser.add_argument("--baseline-trials", type=int, default=None, help=(
        "trials each baseline (image_only, numeric_only, gbdt_only) gets at least (default: max(3, 10%% of "
        "--trials), at most half the study in all)"))
    parser.add_argument("--confirm-repeats", type=int, default=None, help=(
        "when the study is full, train its winners again on this many fresh partitions "
        "(default: about 20%% of the search's cost; 0 = no confirmation, and no verdict)"))
    parser.add_argument("--confirm-folds", type=int, default=None, help=(
        "folds of each fresh partition (default 10, the study's k where the rows do not give every fold 10 rows "
        "of each class)"))
    parser.add_argument("--holdout", type=float, default=0.0, help=(
        "share of rows (stratified, whole groups) no trial sees; the confirmation scores the winners on them "
        "once (default 0)"))
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    _storage_flag(parser)


def _worker_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--existing", action="store_true", help="join an existing study; never create it")
    parser.add_argument("--heartbeat", type=int, default=None, help=(
        "seconds between a running trial's heartbeats; a trial silent for 3 beats + 2 s is failed and re-run. "
        "Stored in the study: every worker beats and judges by the study's value, and one asking for another is "
        "refused (default: the study's; 30 for a new study)"))


def _manifest_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image-column", default="image", help="column with image paths (%(default)s)")
    parser.add_argument("--label-column", default="label", help="column with the label (%(default)s)")
    parser.add_argument("--numeric-columns", default=None, help=(
        "comma-separated numeric columns; given, the features are these and --categorical-columns (default: every "
        "other column, numeric when most of its cells are numbers, else categorical)"))
    parser.add_argument("--categorical-columns", default=None,
                        help="comma-separated columns that are categories even if they hold numbers (e.g. site codes)")
    parser.add_argument("--ignore-columns", default=None, help="comma-separated columns that are no features")
    parser.add_argument("--group-column", default=None, help="samples of one group never split across folds")
    parser.add_argument("--positive", default=None, help=(
        "label value of the positive class, scored against every other class (default: 1 of 0/1)"))
    parser.add_argument("--merge-classes", action="append", default=None, metavar="A,B", help=(
        "label values to count as one class, named A+B (repeat for more groups), e.g. a class with too few rows"))
