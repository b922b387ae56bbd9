"""What a run needs besides the trainer: autosave, the final save and the metrics log.

`RunRecorder` is driven from the training loop's `on_step` in both the headless CLI and the
app, so checkpointing and logging behave the same in both. It runs in the training thread,
between steps, and never raises: a failed save is reported (once, until a save succeeds
again) and training goes on; the final save's outcome is kept for the exit status.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from engine import StepResult, Trainer
from engine.store.checkpoint import CheckpointError, CheckpointStore
from engine.store.runlog import MetricsLog


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
        self.finished = False
        self.final_path: Path | None = None  # where the final checkpoint is (once finished)
        self.final_iteration: int | None = None
        self.final_error: str | None = None  # why the final save failed

    @property
    def run(self) -> str:
        """The run's id, which its log and checkpoints carry ("" when it has neither)."""
        for owner in (self.log, self.store):
            if owner is not None and owner.run:
                return owner.run
        return ""

    def begin(self, trainer: Trainer) -> None:
        """Write the log's header now, before the first step (else the first step does)."""
        if self.log is not None:
            self._log(trainer, lambda log: None)

    def after_step(self, trainer: Trainer, result: StepResult | None = None) -> None:
        """After each step: the log's header (first), the periodic sample `result` carries,
        a record every `log_every` iterations, an autosave every `save_every`."""
        n = trainer.n
        if self.log is not None:
            if result is not None and result.sample is not None:
                self._log(trainer, lambda log: log.sample(trainer, result.iteration,
                                                          result.sample))
            if n % self.log_every == 0:
                self._log(trainer, lambda log: log.record(trainer))
            elif not self.log.headed:  # the header comes at once, not with the first record
                self._log(trainer, lambda log: None)
        if self.store is not None and self.save_every and n % self.save_every == 0:
            self.save(trainer)

    def save(self, trainer: Trainer, quiet: bool = False) -> Path | None:
        """Save now; on failure keep the old checkpoints and return None. A failure is
        reported unless the save before failed for the same reason (or `quiet`): a folder
        that became unwritable is said once, not at every autosave."""
        if self.store is None:
            self.report("saving is off (--no-save)")
            return None
        try:
            path = self.store.save(trainer)
        except CheckpointError as exc:
            if not quiet and _reason(str(exc)) != _reason(self.last_error):
                self.report(f"checkpoint not saved: {exc}")
            self.last_error = str(exc)
            return None
        self.last_saved, self.last_error = path, None
        if self.on_saved is not None:
            self.on_saved(path)
        return path

    def finish(self, trainer: Trainer, save: bool = True) -> Path | None:
        """At the end of a run: a final record and (unless saving is off) a final checkpoint,
        whose path is returned. Only the first call does anything; the outcome stays in
        `final_path` / `final_error` for whoever reports the end of the run."""
        if self.finished:
            return self.final_path
        self.finished = True
        if self.log is not None:
            self._log(trainer, lambda log: log.record(trainer, force=True))
        if self.log is not None:
            self.log.close()
            self.log = None
        if save and self.store is not None and trainer.n > 0 and (
                self.last_saved is None or self.last_saved != self.store.path_for(trainer.n)):
            # the caller reports a failed final save (it decides the exit status)
            if self.save(trainer, quiet=True) is None:
                self.final_error = self.last_error
        self.final_path = self.last_saved
        self.final_iteration = trainer.n if self.final_path is not None else None
        return self.final_path

    def _log(self, trainer: Trainer, write: Callable[[MetricsLog], None]) -> None:
        try:
            self.log.start(trainer, None if self.store is None else self.store.directory)
            write(self.log)
        except (OSError, ValueError) as exc:
            self.report(f"run log disabled: {exc}")
            self.log = None


def _reason(message: str | None) -> str | None:
    """A save error without the file name it starts with (each iteration names its own)."""
    return None if message is None else message.partition(": ")[2]
