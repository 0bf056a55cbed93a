"""What each CLI subcommand does, in terms of the library (argument parsing stays in cli/__init__.py)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
import logging
import sys
from pathlib import Path

import optuna
from rich.console import Console

from fusion_search._api import confirm as confirm_study
from fusion_search._api import search
from fusion_search._errors import UserError
from fusion_search.data import ManifestSpec, make_demo_dataset, merge_groups, read_table
from fusion_search.designs import get_kind
from fusion_search.results import (
    choice_record, compare, export_choice, headline, print_status, record_text, serve_dashboard, upload_model,
    write_report,
)
from fusion_search.spaces import describe_space, list_spaces, load_space
from fusion_search.storage import refuse_password_flag, require_reachable, write_text_atomically
from fusion_search.study import WorkerStopped, load_existing_study, require_confirmation_flags

optuna.logging.set_verbosity(logging.WARNING)


def dispatch(args: argparse.Namespace) -> int:
    refuse_password_flag(getattr(args, "storage", None))
    return COMMANDS[args.handler](args) or 0


def run(args: argparse.Namespace) -> int:
    return _search(args, args.data, manifest_spec(args))


def demo(args: argparse.Namespace) -> int:
    manifest = args.folder / "manifest.csv"
    if not manifest.is_file():
        require_reachable(args.storage)  # before writing the demo's images for a run that cannot store its study
        Console(stderr=True).print(f"writing the demo dataset ({args.rows} rows) to {args.folder}/")
        make_demo_dataset(args.folder, rows=args.rows, seed=args.seed)
    code = _search(args, manifest, ManifestSpec())
    if code == 0:
        _export_winner(args.study, args.storage, manifest, args.folder)
    return code


def _export_winner(name: str, storage: str | None, manifest: Path, folder: Path) -> None:
    """The demo ends as a user's study does: what the verdict stands behind, retrained on all rows, saved beside the
    data and uploaded to the study's artifacts, so that `fusion-search dashboard` offers it for download."""
    from fusion_search import serving  # Keras loads only when a model is exported

    study = load_existing_study(name, storage)
    try:
        choice = export_choice(study)
    except UserError as error:  # e.g. no trial scored on every fold yet: the demo's search still stands
        Console(stderr=True).print(f"no model exported: {error}")
        return
    path = folder / f"best{_model_suffix(study, choice)}"
    if path.exists():
        return  # an earlier run exported it (and uploaded it once)
    serving.export_chosen(study, choice, manifest, path)
    shared = "" if upload_model(study, path) else " (not uploaded: a shared database needs `export --artifact-dir`)"
    Console(stderr=True).print(f"exported {choice.reason}: {path}{shared}")


def _model_suffix(study: optuna.Study, choice) -> str:
    """.ensemble for an ensemble, .keras for a neural design, .fusion for trees or stacking."""
    if choice.ensemble is not None:
        return ".ensemble"
    trial = study.trials[choice.trial]
    return ".keras" if get_kind(trial.user_attrs.get("fusion", trial.params.get("fusion"))).neural else ".fusion"


def _search(args: argparse.Namespace, data: Path, spec: ManifestSpec) -> int:
    try:
        result = search(data, **asdict(spec), space=args.space, trials=args.trials, study=args.study,
                        storage=args.storage, folds=args.folds, seed=args.seed, prune_p=args.prune_p, timeout=args.timeout,
                        existing=getattr(args, "existing", False), heartbeat=getattr(args, "heartbeat", None),
                        baseline_trials=args.baseline_trials, confirm_repeats=args.confirm_repeats,
                        confirm_folds=args.confirm_folds,
                        holdout=args.holdout, progress=not args.quiet)
    except WorkerStopped as stopped:
        print("fusion-search: stopped (SIGTERM); the running trial was failed and re-queued", file=sys.stderr)
        return stopped.exit_code
    print_status(result.study)
    states = {t.state for t in result.study.get_trials(deepcopy=False)}
    ended = {optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED}
    if optuna.trial.TrialState.FAIL in states and not states & ended:
        print("fusion-search: error: every trial failed (their errors are above)", file=sys.stderr)
        return 1
    return 0


def confirm(args: argparse.Namespace) -> int:
    spec = manifest_spec(args)
    try:
        result = confirm_study(args.study, args.data, **asdict(spec), storage=args.storage, repeats=args.repeats,
                               folds=args.folds, progress=not args.quiet)
    except WorkerStopped as stopped:
        print("fusion-search: stopped (SIGTERM); the running training was failed and re-queued", file=sys.stderr)
        return stopped.exit_code
    print_status(result.study)
    return 0


def launch(args: argparse.Namespace) -> int:
    from fusion_search.cli._launch import launch_workers, worker_argv

    _require_positive("--trials", args.trials)
    require_confirmation_flags(args.confirm_repeats, args.confirm_folds)
    return launch_workers(worker_argv(args.argv), args.workers, args.gpus)


def status(args: argparse.Namespace) -> int:
    print_status(load_existing_study(args.study, args.storage))
    return 0


def export(args: argparse.Namespace) -> int:
    output = args.output or Path(f"best.{args.format}")
    if not output.parent.is_dir():
        raise UserError(f"output folder does not exist: {output.parent}")
    study = load_existing_study(args.study, args.storage)
    choice = export_choice(study, args.trial, args.ensemble)
    record = choice_record(study, choice)
    if args.model is not None:  # train and save first: a failed retrain leaves no record behind either
        if args.data is None:
            raise UserError("export --model retrains on the study's data: give the manifest with --data")
        from fusion_search import serving  # Keras loads only when a model is exported

        record["model"] = serving.export_chosen(study, choice, args.data, args.model, manifest_spec(args))
        Console(stderr=True).print(f"wrote {args.model}")
        _upload(study, args.model, args.artifact_dir, record)
    if record.get("below_chance"):
        Console(stderr=True).print(f"warning: trial {record['trial']} is flagged {record['below_chance']}")
    text = record_text(record, args.format)
    write_text_atomically(output, text)
    if args.output is None:  # no file named: the record is shown too; with --output it is only written
        print(text, end="")
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"exported {choice.record()['what']}: {choice.reason}")
    Console(stderr=True).print(f"wrote {output}")
    return 0


def report(args: argparse.Namespace) -> int:
    study = load_existing_study(args.study, args.storage)
    write_report(study, args.output)
    print(headline(compare(study)))
    print(f"wrote {args.output}")
    return 0


def predict(args: argparse.Namespace) -> int:
    from fusion_search.serving import (
        auc_in_words, load_exported_model, read_provenance, score_table, table_labels, unseen_categories,
        write_predictions,
    )

    model = load_exported_model(args.model)
    about = read_provenance(args.model) or {}  # the label, its positive class and the training rows, as exported
    table = read_table(args.data)
    scores = score_table(model, table, args.image_column)
    classes = about.get("classes")
    write_predictions(args.output, table, scores, classes)
    print(f"scored {table.rows} rows of {args.data}; wrote {args.output}")
    if unseen := {column: count for column, count in unseen_categories(model, table).items() if count}:
        print("rows with a category the training rows never had (scored as unknown): "
              + ", ".join(f"{column} {count} of {table.rows}" for column, count in unseen.items()))
    label_column = args.label_column or about.get("label_column", "label")
    positive = args.positive or about.get("positive") or None
    labels = table_labels(table, label_column, positive, about.get("merge_classes"), classes, scores.ndim > 1)
    if labels is not None and (words := auc_in_words(labels, scores, label_column, classes,
                                                     positive if scores.ndim > 1 else None)):
        print(words)
        _warn_in_sample(about, table, args.image_column)
    return 0


def _warn_in_sample(about: dict, table, image_column: str) -> None:
    """An AUC on the rows the model was trained on says nothing about new rows: say so when they are among them."""
    from fusion_search.data import image_paths
    from fusion_search.serving import training_rows_among

    if image_column not in table.columns:
        return
    seen = training_rows_among(about, image_paths(table, image_column))
    if seen:
        print(f"warning: {seen} of {table.rows} rows are rows the model was trained on (same image path), so this AUC "
              "is in-sample: it says how well the model fits them, not how it does on new rows", file=sys.stderr)


def _upload(study: optuna.Study, model: Path, artifact_dir: str | None, record: dict) -> None:
    """The exported model as a study artifact, so the dashboard offers it for download."""
    uploaded = upload_model(study, model, artifact_dir)
    if uploaded is None:
        Console(stderr=True).print("not uploaded for the dashboard: a shared database needs --artifact-dir")
        return
    record["model"]["artifact"] = uploaded
    Console(stderr=True).print(f"uploaded {uploaded['filename']} to the study's artifacts (the dashboard serves it)")


def dashboard(args: argparse.Namespace) -> int:
    serve_dashboard(args.storage, args.host, args.port, args.artifact_dir, args.study)
    return 0


def spaces(args: argparse.Namespace) -> int:
    if args.action == "list":
        for name in list_spaces():
            print(f"{name:<10} {load_space(name).description}")
        return 0
    if not args.space:
        raise UserError("spaces show needs a space name or a YAML path")
    print(describe_space(load_space(args.space)))
    return 0


def manifest_spec(args: argparse.Namespace) -> ManifestSpec:
    return ManifestSpec(
        image_column=args.image_column, label_column=args.label_column, numeric_columns=_names(args.numeric_columns),
        group_column=args.group_column, positive=args.positive,
        categorical_columns=_names(args.categorical_columns), ignore_columns=_names(args.ignore_columns) or (),
        merge_classes=merge_groups(args.merge_classes),
    )


def _names(flag: str | None) -> tuple[str, ...] | None:
    """A comma-separated flag's column names (None when the flag was not given)."""
    return tuple(c.strip() for c in flag.split(",") if c.strip()) if flag else None


def _require_positive(flag: str, value: int) -> None:
    if value < 1:
        raise UserError(f"{flag} must be at least 1, got {value}")


COMMANDS = {"demo": demo, "run": run, "confirm": confirm, "launch": launch, "status": status, "export": export, "report": report,
            "predict": predict, "dashboard": dashboard, "spaces": spaces}
