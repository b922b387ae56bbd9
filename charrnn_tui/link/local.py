"""One run in this process: its Session, the commands it executes, and the app's LocalLink.

A `Session` is a trainer with its control, monitor and run files, and the clients that watch
it: the app's own `LocalLink`, and the socket server's clients (server.py). Every client
steers it with the same commands (`protocol.py`), executed here: pause, resume and step at
once, everything that touches the trainer between steps in the trainer thread (through
`Control.submit`), so the headless run, the app and an attached terminal behave alike.
`train` is the loop the app's thread worker runs. Nothing here imports Textual.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine import (
    ConfigError,
    Control,
    CorpusError,
    Outcome,
    Trainer,
    check_trainer,
    run,
)
from engine.inspect.gradcheck import CheckCancelled
from engine.store.checkpoint import new_run_id

from ..run_files import RunRecorder
from .link import Link
from .monitor import Monitor
from .protocol import (
    CancelGradCheck,
    ChangeSettings,
    Command,
    EndRun,
    Event,
    GradCheck,
    GradCheckDone,
    GradCheckProgress,
    Notice,
    Pause,
    Probe,
    ProbeDone,
    ProbeProgress,
    ResetHidden,
    Resume,
    RunEnded,
    RunInfo,
    SampleNow,
    SaveNow,
    SettingsDone,
    Step,
    WatchViews,
)

PROGRESS_AFTER = 0.2  # seconds: a computation that runs longer reports how far it is
PROGRESS_EVERY = 0.1  # seconds between its reports after that
MAX_WAITING = 16  # commands of one client waiting for the trainer thread: more are refused


class Client(Protocol):
    """One watcher of a session; its methods are called from the trainer thread (or the
    thread a command came from) and must not block."""

    needs: frozenset[str]  # what its screen in front needs in each snapshot

    def snapshot_ready(self, urgent: bool) -> None: ...

    def deliver(self, event: Event) -> None: ...


class Throttle:
    """Called as `due()`: true at most once every `every` seconds, and not before `after`
    seconds from its creation (a computation's progress reports, from the trainer thread)."""

    def __init__(self, after: float, every: float) -> None:
        self._after, self._every = after, every
        self._started = time.perf_counter()
        self._last = -math.inf

    def __call__(self) -> bool:
        now = time.perf_counter()
        if now - self._started < self._after or now - self._last < self._every:
            return False
        self._last = now
        return True


@dataclass
class Session:
    """One model being trained, and whoever watches it."""

    trainer: Trainer
    control: Control
    monitor: Monitor
    iters: int | None  # iterations to train, then stay open (None: until ended)
    recorder: RunRecorder | None  # autosave and run log, driven from the trainer thread
    info: RunInfo
    clients: tuple[Client, ...] = ()
    _checks: dict[int, threading.Event] = field(default_factory=dict)  # running grad checks
    _waiting: dict[int, int] = field(default_factory=dict)  # id(client) -> commands queued
    done: threading.Event = field(default_factory=threading.Event)  # `train` has returned
    _publish_queued: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, trainer: Trainer, iters: int | None = None, paused: bool = False,
              recorder: RunRecorder | None = None, *, in_app: bool = True,
              echo: Callable[[str], None] | None = None, output: str = "") -> Session:
        """A session whose monitor notifies every client after each snapshot and whose
        recorder's messages go to every client (and to `echo`, the headless run's stderr)."""
        control = Control(paused=paused)
        logged = getattr(recorder, "run", "") or ""  # the id its log and checkpoints carry
        monitor = Monitor(trainer, control, run=logged)
        run_id = logged or new_run_id()  # a run with no files still needs a socket name
        target = None if iters is None else trainer.n + iters
        info = RunInfo(run_id, os.getpid(), trainer.corpus.name, len(trainer.corpus),
                       trainer.corpus.vocab, time.time(), trainer.config, target, in_app,
                       getattr(recorder, "store", None) is not None, output)
        session = cls(trainer, control, monitor, iters, recorder, info)
        monitor.notify = session._snapshot_ready
        if recorder is not None:
            def report(text: str) -> None:
                if echo is not None:
                    echo(text)
                session.broadcast(Notice(text, "Run files"))

            recorder.report = report
            recorder.on_saved = tell_monitor_too(monitor.note_saved, recorder.on_saved)
        return session

    @property
    def grad_checks(self) -> int:
        """Gradient checks asked for and not finished (cancelled ones end between entries)."""
        return len(self._checks)

    # -- clients -----------------------------------------------------------------------------

    def attach(self, client: Client) -> None:
        with self._lock:
            self.clients = (*self.clients, client)
        self.refresh_views()

    def detach(self, client: Client) -> None:
        with self._lock:
            self.clients = tuple(c for c in self.clients if c is not client)
        self.refresh_views()

    def broadcast(self, event: Event) -> None:
        for client in self.clients:
            client.deliver(event)

    def _snapshot_ready(self, urgent: bool) -> None:
        for client in self.clients:
            client.snapshot_ready(urgent)

    def refresh_views(self) -> None:
        """Snapshots carry what any client's screen in front needs; publish one with it now."""
        needs = frozenset().union(*(c.needs for c in self.clients))
        if needs != self.monitor.views:
            self.monitor.views = needs
        with self._lock:
            if self._publish_queued:  # one is on its way: a flood of view changes adds none
                return
            self._publish_queued = True
        self.control.submit(self._publish_now)

    def _publish_now(self, trainer: Trainer) -> None:
        with self._lock:
            self._publish_queued = False
        self.monitor.mark_urgent()  # the loop publishes after its commands

    # -- commands ----------------------------------------------------------------------------

    def execute(self, command: Command, client: Client) -> None:
        """Carry out one client's command; answers go to that client, effects to all."""
        control, monitor = self.control, self.monitor
        match command:
            case Pause():
                control.pause()
                monitor.mark_urgent()
            case Resume():
                control.resume()
                monitor.mark_urgent()
            case Step(count=count):
                control.step(count)
            case SampleNow():
                self._between_steps(client, monitor.sample_now)
            case ResetHidden():
                self._between_steps(client, self._reset_hidden)
            case SaveNow():
                self._between_steps(client, lambda trainer: self._save(trainer, client))
            case EndRun():
                self.end("ended by a client")
            case ChangeSettings():
                self._between_steps(client, lambda trainer: self._change(trainer, command,
                                                                         client))
            case WatchViews(needs=needs):
                client.needs = frozenset(needs)
                self.refresh_views()
            case Probe(request=request, query=query):
                self._between_steps(client, lambda trainer: self._probe(trainer, request, query,
                                                                        client))
            case GradCheck(request=request):
                cancelled = self._checks[request] = threading.Event()  # before it can run
                if not self._between_steps(client, lambda trainer: self._grad_check(
                        trainer, request, cancelled, client)):
                    self._checks.pop(request, None)  # refused: a flood leaves nothing behind
            case CancelGradCheck(request=request):
                if (running := self._checks.get(request)) is not None:
                    running.set()
            case _:
                raise TypeError(f"not a command: {type(command).__name__}")

    def end(self, reason: str) -> None:
        """Stop training for good (the final checkpoint is saved as the loop returns)."""
        self.control.stop()
        self.broadcast(RunEnded(reason))

    def save_and_stop(self, timeout: float) -> Path:
        """Save this iteration's exact state and stop training, between steps (a hand-over);
        returns the checkpoint, once the trainer thread has written it."""
        saved: Future[Path] = Future()

        def command(trainer: Trainer) -> None:
            path = self.recorder.save(trainer) if self.recorder is not None else None
            if path is None:
                saved.set_exception(RuntimeError(
                    "the run's state could not be saved" if self.recorder is not None
                    else "this run does not save (--no-save)"))
                return
            self.control.stop()
            saved.set_result(path)

        self.control.submit(command)
        return saved.result(timeout)

    def _between_steps(self, client: Client, command: Callable[[Trainer], None]) -> bool:
        """Run `command(trainer)` in the trainer thread before the next step; one that raises
        is reported to the client that sent it and does not end training. False: refused, the
        client has MAX_WAITING commands waiting already."""
        monitor, key = self.monitor, id(client)
        with self._lock:
            waiting = self._waiting.get(key, 0)
            if waiting >= MAX_WAITING:  # a client that floods the run must not slow it
                busy = True
            else:
                busy = False
                self._waiting[key] = waiting + 1
        if busy:
            client.deliver(Notice(f"the run is busy: {waiting} of this client's commands are "
                                  "still waiting", "Not done"))
            return False

        def guarded(trainer: Trainer) -> None:
            with self._lock:
                left = self._waiting.pop(key, 1) - 1
                if left:
                    self._waiting[key] = left
            try:
                command(trainer)
            except Exception as exc:
                client.deliver(Notice(f"{type(exc).__name__}: {exc}", "Command failed",
                                      "error"))
            monitor.mark_urgent()

        self.control.submit(guarded)
        return True

    def _reset_hidden(self, trainer: Trainer) -> None:
        trainer.reset_hidden()
        self.monitor.note(f"hidden state reset to zeros at iter {trainer.n}")

    def _save(self, trainer: Trainer, client: Client) -> None:
        if self.recorder is None or self.recorder.store is None:
            client.deliver(Notice("saving is off for this run (--no-save)", "Not saved"))
            return
        path = self.recorder.save(trainer)
        if path is not None:
            client.deliver(Notice(f"iteration {trainer.n} saved to {path}", "Saved",
                                  "information"))

    def _change(self, trainer: Trainer, command: ChangeSettings, client: Client) -> None:
        try:  # set_config checks what the change needs of the corpus and the machine
            trainer.set_config(trainer.config.with_changes(**command.changes))
        except (ConfigError, CorpusError, ValueError, MemoryError) as exc:
            field = next(iter(command.changes))
            client.deliver(SettingsDone(command.request, self.monitor.settings, str(exc) or
                                        type(exc).__name__, field))
            return
        self.monitor.settings_changed()
        client.deliver(SettingsDone(command.request, self.monitor.settings))

    def _probe(self, trainer: Trainer, request: int, query, client: Client) -> None:
        due = Throttle(after=PROGRESS_AFTER, every=PROGRESS_EVERY)

        def progress(share: float) -> None:
            if due():
                client.deliver(ProbeProgress(request, share))

        try:
            answer = query.run(trainer, progress)
        except Exception as exc:  # a character outside the vocabulary, a bad window, ...
            client.deliver(ProbeDone(request, trainer.n, error=str(exc) or type(exc).__name__))
        else:
            client.deliver(ProbeDone(request, trainer.n, answer))

    def _grad_check(self, trainer: Trainer, request: int, cancelled: threading.Event,
                    client: Client) -> None:
        due = Throttle(after=0.0, every=PROGRESS_AFTER)

        def progress(done: int, total: int) -> bool:
            if due():
                client.deliver(GradCheckProgress(request, done, total))
            return not (cancelled.is_set() or self.control.stopped)

        try:
            if cancelled.is_set():
                return
            check = check_trainer(trainer, progress=progress)
        except CheckCancelled:
            client.deliver(GradCheckDone(request, error="cancelled"))
        else:
            client.deliver(GradCheckDone(request, check))
        finally:
            self._checks.pop(request, None)


def train(session: Session, tick_seconds: float) -> Outcome:
    """The trainer thread: run the shared loop, then keep answering commands (sample, edits)
    until the session stops. Errors end as the monitor's ERROR state, not a raise."""
    try:
        return _train(session, tick_seconds)
    finally:
        session.done.set()


def _train(session: Session, tick_seconds: float) -> Outcome:
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


class LocalLink(Link):
    """The app's link to a session in this process: commands execute directly, the trainer
    runs in the app's thread worker (`run`)."""

    def __init__(self, session: Session, tick_seconds: float) -> None:
        super().__init__(session.info)
        self.session = session
        self.tick_seconds = tick_seconds
        self.needs: frozenset[str] = frozenset()
        session.attach(self)

    @property
    def trainer(self) -> Trainer:
        return self.session.trainer

    def send(self, command: Command) -> None:
        self.session.execute(command, self)

    def run(self) -> Outcome:
        return train(self.session, self.tick_seconds)

    def close(self) -> None:
        self.session.control.stop()  # the worker's loop returns, after the final save

    def snapshot_ready(self, urgent: bool) -> None:
        self._snapshot(self.session.monitor.latest, urgent)

    def deliver(self, event: Event) -> None:
        self._event(event)
