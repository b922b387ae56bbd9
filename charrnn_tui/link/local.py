"""One model being trained in the app: its Session, and the loop the trainer thread runs.

Nothing here imports Textual: the app makes a Session per model (at start, after `R`, after
a resume), runs `train` in its thread worker and talks to the trainer only through
`Session.submit`, so every change runs in the trainer thread between steps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine import Control, Outcome, Trainer, run

from ..run_files import RunRecorder
from .monitor import Monitor


@dataclass
class Session:
    """One model being trained: the trainer, its controls and its monitor."""

    trainer: Trainer
    control: Control
    monitor: Monitor
    iters: int | None  # iterations to train, then stay open (None: until quit)
    recorder: RunRecorder | None  # autosave and run log, driven from the trainer thread

    @classmethod
    def start(cls, trainer: Trainer, iters: int | None, paused: bool,
              recorder: RunRecorder | None, notify: Callable[[bool], None],
              report: Callable[[str], None]) -> Session:
        """A session whose monitor calls `notify(urgent)` after each snapshot and whose
        recorder sends its messages to `report` (the screen, not stderr under it)."""
        control = Control(paused=paused)
        monitor = Monitor(trainer, control, notify=notify)
        if recorder is not None:
            recorder.report = report
            recorder.on_saved = tell_monitor_too(monitor.note_saved, recorder.on_saved)
        return cls(trainer, control, monitor, iters, recorder)

    def submit(self, command: Callable[[Trainer], None],
               on_error: Callable[[Exception], None]) -> None:
        """Run `command(trainer)` in the trainer thread before the next step; a command that
        raises is reported to `on_error` and does not end training."""
        monitor = self.monitor

        def guarded(trainer: Trainer) -> None:
            try:
                command(trainer)
            except Exception as exc:
                on_error(exc)
            monitor.mark_urgent()

        self.control.submit(guarded)


def train(session: Session, tick_seconds: float) -> Outcome:
    """The trainer thread: run the shared loop, then keep answering commands (sample, edits)
    until the app stops the control. Errors end as the monitor's ERROR state, not a raise."""
    tr, control, mon, rec = session.trainer, session.control, session.monitor, session.recorder
    on_step = mon.on_step
    if rec is not None:
        def on_step(result, monitor_step=mon.on_step, after_step=rec.after_step):
            monitor_step(result)
            after_step(tr, result)
    try:
        outcome = run(tr, control, session.iters, on_step=on_step, on_tick=mon.publish,
                      tick_seconds=tick_seconds, on_diverged=mon.on_diverged,
                      stop_on_divergence=False)
    except Exception as exc:  # shown in the app; the terminal stays usable
        if rec is not None:  # a trainer that raised is not worth saving, unless it only ran
            # out of memory: a step then restores the last good state (OutOfMemory)
            rec.finish(tr, save=isinstance(exc, MemoryError))
        mon.finish(None, exc)
    else:
        if rec is not None:
            rec.finish(tr)  # the final checkpoint, as the headless run saves it
        mon.finish(outcome)
        if outcome is not Outcome.FINISHED:
            return outcome
    control.pause()  # no more steps: commands only, until stop()
    run(tr, control, on_tick=mon.publish)
    return Outcome.STOPPED


def tell_monitor_too(note: Callable[[Path], None], previous: Callable[[Path], None] | None
                     ) -> Callable[[Path], None]:
    """A recorder's on_saved hook that also tells the monitor (in the trainer thread)."""
    def on_saved(path: Path) -> None:
        note(path)
        if previous is not None:
            previous(path)

    return on_saved
