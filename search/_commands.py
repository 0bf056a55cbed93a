"""What each CLI subcommand does, in terms of the library (argument parsing stays in cli.py)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import optuna
from rich.console import Console

from search._data import ManifestSpec
from search._dataset import prepare_data
from search._errors import UserError
from search._leaderboard import print_status
from search._progress import RichProgress, SilentProgress
from search._study import RunSettings, load_existing_study, run_search
from search._summary import export_record
from search._synthetic import make_demo_dataset
from search._worker import WorkerStopped
from spaces import list_spaces, load_space
from storage import resolve_storage_url

optuna.logging.set_verbosity(logging.WARNING)


def run(args: argparse.Namespace) -> int:
    spec = ManifestSpec(
        path=args.data, image_column=args.image_column, label_column=args.label_column,
        numeric_columns=tuple(c.strip() for c in args.numeric_columns.split(",") if c.strip())
        if args.numeric_columns else None,
        group_column=args.group_column, positive=args.positive,
    )
    return _search(args, spec)


def demo(args: argparse.Namespace) -> int:
    manifest = args.folder / "manifest.csv"
    if not manifest.is_file():
        Console(stderr=True).print(f"writing the demo dataset ({args.rows} rows) to {args.folder}/")
        make_demo_dataset(args.folder, rows=args.rows, seed=args.seed)
    return _search(args, ManifestSpec(path=manifest))


def _search(args: argparse.Namespace, spec: ManifestSpec) -> int:
    _require_positive("--trials", args.trials)
    settings = RunSettings(study=args.study, storage=resolve_storage_url(args.storage), trials=args.trials,
                           timeout=args.timeout, seed=args.seed, create=not getattr(args, "existing", False),
                           heartbeat=getattr(args, "heartbeat", RunSettings.heartbeat), prune_p=args.prune_p)
    space = load_space(args.space)
    data = prepare_data(spec, args.folds, args.seed, image_sizes=space_image_sizes(space))
    progress = SilentProgress() if args.quiet else RichProgress(args.trials)
    try:
        with progress:
            study = run_search(settings, data, space, progress)
    except WorkerStopped as stopped:
        print("fusion-search: stopped (SIGTERM); the running trial was failed and re-queued", file=sys.stderr)
        return stopped.exit_code
    print_status(study)
    return 0


def launch(args: argparse.Namespace) -> int:
    from search._launch import launch_workers, worker_argv

    _require_positive("--workers", args.workers)
    _require_positive("--trials", args.trials)
    return launch_workers(worker_argv(args.argv), args.workers, args.gpus)


def status(args: argparse.Namespace) -> int:
    print_status(load_existing_study(args.study, args.storage))
    return 0


def export(args: argparse.Namespace) -> int:
    output = args.output or Path(f"best.{args.format}")
    if not output.parent.is_dir():
        raise UserError(f"output folder does not exist: {output.parent}")
    study = load_existing_study(args.study, args.storage)
    record = export_record(study, args.trial)
    if args.model is not None:  # train and save first: a failed retrain leaves no record behind either
        if args.data is None:
            raise UserError("export --model retrains on the study's data: give the manifest with --data")
        from search._export_model import export_model

        record["model"] = export_model(study, args.trial, _spec(args), args.model)
        Console(stderr=True).print(f"wrote {args.model}")
    text = json.dumps(record, indent=2)
    if args.format == "yaml":
        import yaml

        text = yaml.safe_dump(json.loads(text), sort_keys=False).rstrip("\n")
    _write_atomically(output, text + "\n")
    print(text)
    Console(stderr=True).print(f"wrote {output}")
    return 0


def _spec(args: argparse.Namespace) -> ManifestSpec:
    return ManifestSpec(
        path=args.data, image_column=args.image_column, label_column=args.label_column,
        numeric_columns=tuple(c.strip() for c in args.numeric_columns.split(",") if c.strip())
        if args.numeric_columns else None,
        group_column=args.group_column, positive=args.positive,
    )


def spaces(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name in list_spaces():
            print(f"{name:<10} {load_space(name).description}")
        return 0
    if not args.space:
        raise UserError("spaces show needs a space name or a YAML path")
    from spaces._show import describe_space

    print(describe_space(load_space(args.space)))
    return 0


def space_image_sizes(space) -> tuple[int, ...]:
    """Image sizes a space can ask for (decoded, and so checked, before the study is touched)."""
    if "image_size" in space.fixed:
        return (int(space.fixed["image_size"]),)
    param = space.param("image_size")
    if param is not None and param.choices is not None:
        return tuple(int(v) for v in param.choices)
    from search._design import Design

    return (Design().image_size,) if param is None else ()


def _require_positive(flag: str, value: int) -> None:
    if value < 1:
        raise UserError(f"{flag} must be at least 1, got {value}")


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename: a failure never leaves half a file."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise UserError(f"output folder does not exist: {path.parent}")
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
