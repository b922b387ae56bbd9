"""What a run needs besides the trainer: autosave, the final save and the metrics log.

`RunRecorder` is driven from the training loop's `on_step` in both the headless CLI and the
app, so checkpointing and logging behave the same in both. It runs in the training thread,
between steps, and never raises: a failed save is reported and training goes on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine import Trainer
from engine.checkpoint import CheckpointError, CheckpointStore
from engine.runlog import MetricsLog


class RunRecorder:
    def __init__(self, store: CheckpointStore | None, save_every: int,
                 log: MetricsLog | None, log_every: int,
                 report: Callable[[str], None] = lambda message: None,
                 on_saved: Callable[[Path], None] | None = None) -> None:
        self.store = store
        self.save_every = save_every
        self.log = log
        self.log_every = log_every
        self.report = report  # one-line problems for the user (stderr or the status line)
        self.on_saved = on_saved
        self.last_saved: Path | None = None
        self.last_error: str | None = None

    def after_step(self, trainer: Trainer) -> None:
        n = trainer.n
        if self.log is not None and n % self.log_every == 0:
            self._log(trainer)
        if self.store is not None and self.save_every and n % self.save_every == 0:
            self.save(trainer)

    def save(self, trainer: Trainer) -> Path | None:
        """Save now; on failure report it, keep the old checkpoints and return None."""
        if self.store is None:
            self.report("saving is off (--no-save)")
            return None
        try:
            path = self.store.save(trainer)
        except CheckpointError as exc:
            self.last_error = str(exc)
            self.report(f"checkpoint not saved: {exc}")
            return None
        self.last_saved, self.last_error = path, None
        if self.on_saved is not None:
            self.on_saved(path)
        return path

    def finish(self, trainer: Trainer, save: bool = True) -> Path | None:
        """At the end of a run: a final record and (unless saving is off) a final checkpoint,
        whose path is returned."""
        if self.log is not None:
            self._log(trainer)
            self.log.close()
            self.log = None
        if save and self.store is not None and trainer.n > 0 and (
                self.last_saved is None or self.last_saved != self.store.path_for(trainer.n)):
            return self.save(trainer)
        return self.last_saved

    def _log(self, trainer: Trainer) -> None:
        try:
            self.log.record(trainer)
        except (OSError, ValueError) as exc:
            self.report(f"run log disabled: {exc}")
            self.log = None
