"""Progress bars of a running search (rich), for the terminal and notebooks."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from fusion_search.study import SilentProgress


class RichProgress(SilentProgress):
    """Three bars: trials in this process, folds of the current trial, epochs of the current fold."""

    def __init__(self, trials: int, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self.bars = Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), console=self.console, transient=True)
        self.trials = self.bars.add_task("trials", total=trials)
        self.folds = self.bars.add_task("folds", total=1)
        self.epochs = self.bars.add_task("epochs", total=1)

    def __enter__(self):
        self.bars.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bars.__exit__(*exc)

    def trial_started(self, number: int, label: str) -> None:
        self.bars.update(self.folds, description=f"trial {number}: {label}", completed=0)

    def fold_started(self, fold: int, folds: int) -> None:
        self.bars.update(self.folds, total=folds, completed=fold)
        self.bars.update(self.epochs, description=f"fold {fold + 1}/{folds} epochs", completed=0)

    def epoch_ended(self, epoch: int, epochs: int) -> None:
        self.bars.update(self.epochs, total=epochs, completed=epoch)

    def trial_ended(self, number: int, label: str, value: float | None) -> None:
        self.bars.advance(self.trials)
        shown = "failed" if value is None else f"mean AUC {value:.3f}"
        self.console.print(f"trial {number:>3}  {label:<14} {shown}")

    def unit_ended(self, done: int, total: int, fusion: str, where: str, auc: float | None) -> None:
        self.bars.advance(self.trials)
        shown = "failed" if auc is None else f"AUC {auc:.3f}"
        self.console.print(f"confirm {f'{done}/{total}':>7}  {fusion:<14} {where:<16} {shown}")

    def trial_skipped(self, number: int, label: str, reason: str) -> None:
        self.bars.advance(self.trials)
        self.console.print(f"trial {number:>3}  {label:<14} skipped: {reason}")
