"""What replaces the run an app shows: a new model (R), a checkpoint (o), a hand-over (D),
another live run, and the run's end.

`RunSwaps` is the part of `CharRNNApp` that changes its link: a model trained here gets a new
`Session` and run files of its own, and its socket server follows it; a hand-over saves the
exact state, starts a headless process that resumes it and attaches to that process; an
attached client can end the run it watches (asking first), and leaves it with q.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work

from charrnn_tui.link.client import AttachError, RemoteLink
from charrnn_tui.link.handover import FinishedThere, HandOverError
from charrnn_tui.link.link import Link
from charrnn_tui.link.local import LocalLink, Session
from charrnn_tui.link.monitor import State
from charrnn_tui.link.protocol import EndRun
from charrnn_tui.run_files import RunRecorder
from engine import ConfigError, CorpusError, Trainer
from engine.presets import preset
from engine.store.checkpoint import CheckpointError, load_checkpoint, new_run_id
from engine.text import visible

from .dialogs.confirm_dialog import ConfirmDialog
from .dialogs.reinit_dialog import SAME, ReinitChoice, ReinitDialog
from .dialogs.resume_dialog import ResumeDialog
from .messages import AttachTo, ResumeFrom

if TYPE_CHECKING:
    from .app import CharRNNApp

SAVE_SECONDS = 120.0  # a hand-over waits this long for the step (or validation) under way


class RunSwaps:
    """Mixed into CharRNNApp: every way its run is replaced."""

    def use_link(self: CharRNNApp, link: Link, what: str) -> None:
        """Show `link` from now on; the old one is left (a local run saves and ends)."""
        self.link.close()
        self.stop_listening(f"replaced by run {link.info.run}")
        self.link = link
        self._connect(link)
        self._probes.clear()
        self.views_changed()  # the view in front asks the new run for what it needs
        welcome = getattr(link, "welcome", None)
        self._show_state_now(State(welcome.state) if welcome else State.RUNNING)
        self.main_screen.new_model(link.config, what)
        self._start(link)

    def local_link(self: CharRNNApp, trainer: Trainer, iters: int | None, paused: bool,
                   recorder: RunRecorder | None) -> LocalLink:
        session = Session.start(trainer, iters, paused, recorder)
        return LocalLink(session, 1.0 / self.refresh_hz)

    def stop_listening(self: CharRNNApp, reason: str) -> None:
        if self.server is not None:
            self.server.close(reason)
            self.server = None

    def run_ended(self: CharRNNApp, reason: str) -> None:
        """The run said it ended: this app's own quits (a client ended it); an attached one
        stays on screen until q."""
        if not self.attached:
            self.exit(self._exit_code)
            return
        self._show_state_now(State.STOPPED)
        self.main_screen.note(f"the run's connection ended: {reason} (q leaves)")
        self.notify(visible(reason), title="Run ended", timeout=12, markup=False)

    # -- a new model trained here (not while attached) -----------------------------------

    def action_reinit(self: CharRNNApp) -> None:
        self.push_screen(ReinitDialog(self.config.seed, self.config.describe_model()),
                         self._reinit)

    def action_resume_picker(self: CharRNNApp) -> None:
        if self.store is None:
            self.notify("no checkpoint directory for this run", title="Resume")
            return
        recorder = self.session.recorder
        run = recorder.store.run if recorder is not None and recorder.store is not None else None
        self.push_screen(ResumeDialog(self.store.infos(), self.store.directory, run),
                         self._resume)

    def on_resume_from(self: CharRNNApp, message: ResumeFrom) -> None:
        """A run's details chose a checkpoint: close the view and train from it."""
        self.action_close_view()
        if self.attached:
            self.notify("attached to a run: resume in an app of its own",
                        title="Cannot resume here")
            return
        self._resume(message.path)

    def _reinit(self: CharRNNApp, choice: ReinitChoice | None) -> None:
        if choice is None:
            return
        same = choice.seed == SAME
        config = self.config
        if choice.preset is not None:  # its model and training settings; the rest stays
            config = preset(choice.preset).carrying(config)
        try:
            config = config.with_changes(seed=self.config.seed if same else None)
            trainer = Trainer(self.trainer.corpus, config)  # its size is budgeted first
        except (ConfigError, CorpusError, MemoryError) as exc:
            self.notify(str(exc) or "out of memory", title="Cannot re-initialise",
                        severity="error", timeout=10, markup=False)
            return
        self._train_here(trainer,
                         f"re-initialised {config.describe_model()} with the "
                         f"{'same' if same else 'new'} seed "
                         f"{config.seed if same else 'drawn afresh'}")

    def _resume(self: CharRNNApp, path: Path | None) -> None:
        if path is None:
            return
        try:
            trainer = load_checkpoint(path, self.trainer.corpus)
        except (CheckpointError, MemoryError) as exc:  # a path from a run log: literal text
            self.notify(visible(str(exc) or "out of memory"), title="Cannot resume",
                        severity="error", timeout=10, markup=False)
            return
        if self.config.threads is not None:  # a count set for this machine (--threads, Controls)
            trainer.set_config(trainer.config.with_changes(threads=self.config.threads))
        self._train_here(trainer, f"resumed {path.name} at iter {trainer.n}")

    def _train_here(self: CharRNNApp, trainer: Trainer, what: str,
                    iters: int | None = None) -> None:
        """Train `trainer` in this app from now on, with run files of its own."""
        old = self.link.session
        recorder = self.recorder_factory(trainer) if self.recorder_factory else None
        link = self.local_link(trainer, old.iters if iters is None else iters, False, recorder)
        unsaved = recorder is None and old.recorder is not None
        self.use_link(link, f"{what}; seed {trainer.config.seed}"
                            + ("; this model is not saved" if unsaved else ""))

    # -- handing the run over to a process of its own ------------------------------------

    def action_hand_over(self: CharRNNApp) -> None:
        recorder = self.session.recorder
        if self.hand_over_to is None or recorder is None or recorder.store is None:
            self.notify("a hand-over resumes from a checkpoint: this run does not save one "
                        "(--no-save)" if self.hand_over_to is not None else
                        "this app cannot start a run of its own (no corpus file)",
                        title="Cannot detach the run")
            return
        self.push_screen(ConfirmDialog(
            "Detach the run from this app?",
            "It saves its exact state and trains on in a process of its own, which this app "
            "then attaches to: close the terminal and it goes on. Attach again with "
            "'charrnn-tui attach', end it with E.", "Detach"),
            lambda yes: self._hand_over() if yes else None)

    @work(thread=True, exclusive=True, group="hand-over", exit_on_error=False)
    def _hand_over(self: CharRNNApp) -> None:
        session, hand_over = self.session, self.hand_over_to
        self.call_from_thread(self.main_screen.note, "saving the run to hand it over…")
        try:
            checkpoint = session.save_and_stop(SAVE_SECONDS)
        except Exception as exc:  # noqa: BLE001 - the run goes on here, and says why
            self.call_from_thread(self.notify, f"{exc}", title="Cannot detach the run",
                                  severity="error")
            return
        session.done.wait(SAVE_SECONDS)
        target, n = session.info.iters, session.trainer.n
        try:
            started = hand_over.start(checkpoint, new_run_id(),
                                      None if target is None else max(0, target - n))
            link = hand_over.wait(started)
        except FinishedThere as exc:  # what was left of the budget is done: nothing to join
            self.call_from_thread(self.main_screen.note, f"handed over at iter {n}: the run "
                                  f"finished in process {started.process.pid} ({exc}); its "
                                  f"trace is in {started.output}")
            return
        except (HandOverError, AttachError) as exc:
            self.call_from_thread(self._hand_over_failed, checkpoint, str(exc))
            return
        self.call_from_thread(
            self.use_link, link,
            f"handed over at iter {n}: run {link.info.run} trains on in process "
            f"{started.process.pid}, its trace in {started.output}; q detaches, E ends it")

    def _hand_over_failed(self: CharRNNApp, checkpoint: Path, why: str) -> None:
        """Train on here, from the state that was saved for the hand-over."""
        self.notify(f"the run could not be handed over: {why}; it trains on here",
                    title="Hand-over failed", severity="error", timeout=15)
        try:
            trainer = load_checkpoint(checkpoint, self.trainer.corpus)
        except (CheckpointError, MemoryError) as exc:
            self.notify(visible(str(exc) or "out of memory"), title="Cannot resume",
                        severity="error", markup=False)
            return
        target = self.session.info.iters
        self._train_here(trainer, f"resumed {checkpoint.name} at iter {trainer.n}",
                         None if target is None else max(0, target - trainer.n))

    # -- another live run, and ending an attached one ------------------------------------

    def on_attach_to(self: CharRNNApp, message: AttachTo) -> None:
        """The runs screen's enter on another live run."""
        if self.attached:
            self.action_close_view()
        self.attach_to(message.path)

    def attach_to(self: CharRNNApp, path: Path) -> None:
        """Watch the run listening on `path` instead of the one attached to (an app that
        trains its own run hands it over with D first, or attaches from another terminal)."""
        if not self.attached:
            self.notify(f"this app trains its own run: detach it first (D), or attach from "
                        f"another terminal with 'charrnn-tui attach {path}'",
                        title="Cannot attach here")
            return
        try:
            link = RemoteLink.open(path)
        except AttachError as exc:
            self.notify(str(exc), title="Cannot attach", severity="error")
            return
        self.use_link(link, f"attached to run {link.info.run} ({link.info.corpus_name})")

    def action_end_run(self: CharRNNApp) -> None:
        self.push_screen(ConfirmDialog(
            "End the run?", "It saves its final checkpoint and stops for good; every client "
            "watching it is told.", "End it"),
            lambda yes: self.link.send(EndRun()) if yes else None)
