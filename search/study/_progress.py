"""What a running search tells its watcher: trials, folds and epochs. This interface does nothing;
the CLI's progress bars implement it."""

from __future__ import annotations


class SilentProgress:
    """The interface, doing nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def trial_started(self, number: int, label: str) -> None: ...

    def fold_started(self, fold: int, folds: int) -> None: ...

    def epoch_ended(self, epoch: int, epochs: int) -> None: ...

    def trial_ended(self, number: int, label: str, value: float | None) -> None: ...

    def trial_skipped(self, number: int, label: str, reason: str) -> None: ...

    def unit_ended(self, done: int, total: int, fusion: str, where: str, auc: float | None) -> None:
        """A confirmation training ended: the done-th of total, a design, on which fresh fold (or the held-out
        rows), and that one fold's AUC."""
