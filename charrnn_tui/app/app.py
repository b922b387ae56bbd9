"""The live monitor: a Textual app that trains the engine in a thread worker and steers it.

The app routes; the screens behave. It owns the Session (trainer, control, monitor, run
files) and its thread worker (`link.local.train`, the loop the headless CLI uses, with a
`Monitor` as its hooks), turns keys into commands for the trainer thread, and sends each
snapshot to the screen in front: the `MainScreen` (panes, drawing, edits) or a full-screen
view. Keys, footer, gating and palette come from one table, `actions.ACTIONS`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.worker import Worker, WorkerState

from engine import Config, ConfigError, CorpusError, Outcome, Trainer, check_trainer
from engine.inspect.gradcheck import CheckCancelled
from engine.presets import RUN_FIELDS, preset
from engine.store.checkpoint import CheckpointError, CheckpointStore, load_checkpoint
from engine.text import visible

from ..cli.exit_status import ENDING_SIGNALS, Exit
from ..link.local import Session, train
from ..link.monitor import Snapshot, State
from ..run_files import RunRecorder
from . import actions
from .commands import TrainingCommands
from .dialogs.reinit_dialog import SAME, ReinitChoice, ReinitDialog
from .dialogs.resume_dialog import ResumeDialog
from .main_screen import MainScreen
from .messages import (
    GradCheckDone,
    GradCheckProgress,
    Notice,
    ProbeDone,
    ProbeProgress,
    ProbeRequest,
    ResumeFrom,
    SnapshotReady,
)
from .views.gradcheck_view import GradCheckView
from .views.view_screen import ViewScreen

# Snapshots (and frames) per second, chosen with `python -m charrnn_tui.bench`. Under the GIL
# training loses about twice the UI thread's CPU time (handoffs included): drawing everything
# at 5 Hz took 4-6% of a core and left 0.88-0.91 of the headless rate. At 4 Hz, with the
# status line every frame, the loss pane and the Adagrad table every SLOW_EVERY frames and
# samples every main_screen.SAMPLES_SECONDS (a scrolled pane repaints every line), the UI
# takes ~2.8% and training keeps ~0.94. Key presses and changes of state draw at once.
REFRESH_HZ = 4.0
SLOW_EVERY = 2
MIN_KEY_TEMPERATURE = 0.1  # below this, `t` halves instead of stepping by 0.1
PROGRESS_SECONDS = 0.2  # a long computation in the trainer thread reports this often
PROGRESS_AFTER = 0.2  # seconds: a view's computation that runs longer shows its progress
PROGRESS_EVERY = 0.1  # seconds between progress messages after that


class _Throttle:
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


class CharRNNApp(App[int]):
    """Trains one model at a time in a thread worker; keys steer it, screens show it."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "charrnn-tui"
    AUTO_FOCUS = None  # keys drive training until an input is clicked or tabbed to
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (70, "-narrow"), (110, "-wide")]
    BINDINGS = actions.BINDINGS
    COMMANDS = App.COMMANDS | {TrainingCommands}

    def __init__(self, trainer: Trainer, *, iters: int | None = None,
                 recorder: RunRecorder | None = None,
                 recorder_factory: Callable[[Trainer], RunRecorder | None] | None = None,
                 store: CheckpointStore | None = None, refresh_hz: float = REFRESH_HZ,
                 paused: bool = False, handle_signals: bool = False) -> None:
        """`recorder` saves and logs this run; `recorder_factory` makes one for a model that
        replaces it (R, or a resumed checkpoint); `store` is where the resume picker looks.
        `paused` starts the worker paused (tests, snapshots); `handle_signals` makes
        SIGINT, SIGTERM and SIGHUP quit as q does (only in a real terminal, not under tests)."""
        super().__init__()
        self.refresh_hz = refresh_hz
        self.handle_signals = handle_signals
        self.recorder_factory = recorder_factory
        self.store = store if store is not None else getattr(recorder, "store", None)
        self.session = self._new_session(trainer, iters, paused, recorder)
        self.state = State.PAUSED if paused else State.RUNNING
        self.main_screen = MainScreen()
        self._shown_version = 0
        self._frame = 0
        self._exit_code = Exit.OK

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def on_mount(self) -> None:
        # the first frame shows the untrained model (the worker has not started: safe here)
        self.session.monitor.mark_urgent()
        self.session.monitor.publish(self.trainer)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in ENDING_SIGNALS:
                loop.add_signal_handler(sig, self.action_quit)
        # the first frame is drawn before the trainer starts competing for the GIL
        self.call_after_refresh(self._start, self.session)

    def on_unmount(self) -> None:
        self.session.control.stop()  # however the app ends, the worker returns

    @property
    def trainer(self) -> Trainer:
        return self.session.trainer

    @property
    def config(self) -> Config:
        """The settings in effect (or queued to take effect before the next step)."""
        return self._config

    @property
    def shown_version(self) -> int:
        """The version of the snapshot on screen (0: none since the screen changed)."""
        return self._shown_version

    # -- the trainer thread ----------------------------------------------------------------

    def _new_session(self, trainer: Trainer, iters: int | None, paused: bool,
                     recorder: RunRecorder | None) -> Session:
        self._config = trainer.config
        return Session.start(trainer, iters, paused, recorder,
                             notify=lambda urgent: self.post_message(SnapshotReady(urgent)),
                             report=lambda text: self.post_message(Notice(text, "Run files")))

    def _start(self, session: Session) -> None:
        if session is self.session and not session.control.stopped:
            self._train(session)

    @work(thread=True, exclusive=True, group="trainer", exit_on_error=False)
    def _train(self, session: Session) -> Outcome:
        return train(session, 1.0 / self.refresh_hz)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's failure shows (`train` reports its own errors)."""
        if event.state is WorkerState.ERROR:
            self.notify(f"{event.worker.error!r}", title="Worker failed", severity="error")

    def _submit(self, command: Callable[[Trainer], None]) -> None:
        """Run `command(trainer)` in the trainer thread before the next step."""
        self.session.submit(command, lambda exc: self.post_message(Notice(
            f"{type(exc).__name__}: {exc}", "Command failed", "error")))

    def set_config(self, config: Config) -> None:
        """Queue validated settings (MainScreen.apply_setting checks them first)."""
        self._config = config
        self._submit(lambda tr: tr.set_config(config))

    # -- routing snapshots and messages ----------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        """Draw the newest snapshot on the screen in front, if it does not show it yet.

        Every frame costs the trainer the UI thread's time under the GIL, so the bigger panes
        are drawn on every SLOW_EVERY-th frame only; a frame that follows a key press or a
        change of state (`urgent`) draws them all.
        """
        snap = self.session.monitor.latest
        if snap is None or snap.version == self._shown_version or not self.is_running:
            return
        self._shown_version = snap.version
        self._frame += 1
        everything = message.urgent or snap.state is not State.RUNNING
        slow = everything or self._frame % SLOW_EVERY == 0
        view = self._view_in_front()
        if view is not None:  # it covers the panes: draw only the view
            view.status.show(snap)
            if slow:
                view.draw(snap)
        else:
            self.main_screen.draw(snap, slow, everything)
        if snap.state is not self.state:
            self._on_state_change(snap)

    def _on_state_change(self, snap: Snapshot) -> None:
        """The run changed state: update the keys, and explain a divergence or an error."""
        if self.state is State.DIVERGED and snap.state is State.RUNNING:
            self.clear_notifications()  # the explanation no longer applies
        self.state = snap.state
        self.refresh_bindings()
        if snap.state in (State.DIVERGED, State.ERROR):
            title = "Diverged" if snap.state is State.DIVERGED else "Trainer error"
            self.notify(snap.message, title=title, severity="error", timeout=12)
            self._exit_code = Exit.DIVERGED if snap.state is State.DIVERGED else Exit.ERROR
        self.main_screen.note_state(snap)
        if snap.state is not State.DIVERGED and self._exit_code == Exit.DIVERGED:
            self._exit_code = Exit.OK

    def _show_state_now(self, state: State) -> None:
        """Show a state at once, before the trainer confirms it with a snapshot (within a step)."""
        self.state = state
        self.refresh_bindings()
        snap = self.session.monitor.latest
        if snap is not None:
            self.main_screen.status.show(snap, state)
            if (view := self._view_in_front()) is not None:
                view.status.show(snap, state)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text, title=message.title, severity=message.severity)

    def on_grad_check_done(self, message: GradCheckDone) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, GradCheckView):
                screen.show_results(message)

    def on_probe_request(self, message: ProbeRequest) -> None:
        """Run a view's computation in the trainer thread and answer the view (its progress
        too, once it has taken longer than PROGRESS_AFTER)."""
        view, token, compute = message.reply_to, message.token, message.compute

        def run(trainer: Trainer) -> None:
            due = _Throttle(after=PROGRESS_AFTER, every=PROGRESS_EVERY)

            def progress(share: float) -> None:
                if due():
                    view.post_message(ProbeProgress(token, share))

            try:
                result = compute(trainer, progress)
            except ValueError as exc:  # CorpusError (a character outside the vocabulary)
                view.post_message(ProbeDone(token, trainer.n, error=str(exc)))
            else:
                view.post_message(ProbeDone(token, trainer.n, result))

        self._submit(run)

    # -- views -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return actions.availability(action, parameters, self.state, self._view_in_front())

    def _view_in_front(self) -> ViewScreen | None:
        return self.screen if isinstance(self.screen, ViewScreen) else None

    def _open(self, view: ViewScreen) -> None:
        """Put `view` in front: over the main screen, or in place of another view."""
        if self._view_in_front() is not None:
            self.switch_screen(view)
        else:
            self.push_screen(view)

    def action_view(self, name: str) -> None:
        """Open the view `name`, or close it if it is in front (another view is replaced)."""
        current = self._view_in_front()
        if current is not None and current.NAME == name:
            self.action_close_view()
        else:
            self._open(actions.VIEWS[name](self.trainer.corpus.vocab))

    def action_close_view(self) -> None:
        if self._view_in_front() is not None:
            self.pop_screen()
            self.views_changed()

    def views_changed(self) -> None:
        """A view came to the front or went: ask the monitor for what it needs, redraw."""
        view = self._view_in_front()
        needs = view.NEEDS if view is not None else frozenset()
        monitor = self.session.monitor
        if needs != monitor.views:
            monitor.views = needs
        self._shown_version = 0
        self._submit(lambda trainer: None)  # publish a snapshot with it now, even if paused
        self.refresh_bindings()

    def action_gradient_check(self) -> None:
        """Open the gradient-check view (or check again in it): runs in the trainer thread."""
        if isinstance(self.screen, GradCheckView):
            view = self.screen
            view.running()
        else:
            view = GradCheckView(self.trainer.corpus.vocab)
            self._open(view)
        cancelled = view.cancelled  # set when the view closes: a large model takes a while
        due = _Throttle(after=0.0, every=PROGRESS_SECONDS)

        def progress(done: int, total: int) -> bool:
            if due():
                self.post_message(GradCheckProgress(done, total))
            return not cancelled.is_set()

        def check(trainer: Trainer) -> None:
            try:
                done = check_trainer(trainer, progress=progress)
            except CheckCancelled:
                return
            self.post_message(GradCheckDone(done.iteration, done.source, done.results))

        self._submit(check)

    def on_grad_check_progress(self, message: GradCheckProgress) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, GradCheckView):
                screen.progress(message.done, message.total)

    # -- training keys ---------------------------------------------------------------------

    def action_pause(self) -> None:
        self.session.control.pause()
        self._show_state_now(State.PAUSED)

    def action_resume(self) -> None:
        self.session.control.resume()
        self._show_state_now(State.RUNNING)

    def action_toggle_pause(self) -> None:
        if self.state is State.RUNNING:
            self.action_pause()
        elif self.state in (State.PAUSED, State.DIVERGED):
            self.action_resume()

    def action_step(self) -> None:
        self.session.control.step(1)

    def action_sample(self) -> None:
        self._submit(self.session.monitor.sample_now)

    def action_reset_hidden(self) -> None:
        self._submit(lambda tr: tr.reset_hidden())
        self.main_screen.note(f"hidden state reset to zeros at iter {self.trainer.n}")

    def action_scale_lr(self, factor: float) -> None:
        self.main_screen.apply_setting("learning_rate", self.config.learning_rate * factor)

    def action_step_temperature(self, direction: int) -> None:
        t = self.config.temperature
        if direction < 0:
            new = t / 2 if t <= MIN_KEY_TEMPERATURE + 1e-9 else t - 0.1
        else:
            new = t + 0.1
        self.main_screen.apply_setting("temperature", float(f"{new:.4g}"))

    def action_leave_input(self) -> None:
        self.screen.set_focus(None)

    def action_quit(self) -> None:  # also Ctrl+C and ENDING_SIGNALS
        self.session.control.stop()
        self.exit(self._exit_code)

    # -- checkpoints and new models --------------------------------------------------------

    def action_save(self) -> None:
        recorder = self.session.recorder
        if recorder is None:
            self.notify("saving is off for this run (--no-save)", title="Not saved")
            return

        def save(trainer: Trainer) -> None:
            path = recorder.save(trainer)
            if path is not None:
                self.post_message(Notice(f"iteration {trainer.n} saved to {path}", "Saved",
                                         "information"))

        self._submit(save)

    def action_reinit(self) -> None:
        self.push_screen(ReinitDialog(self.config.seed, self.config.describe_model()),
                         self._reinit)

    def action_resume_picker(self) -> None:
        if self.store is None:
            self.notify("no checkpoint directory for this run", title="Resume")
            return
        recorder = self.session.recorder
        run = recorder.store.run if recorder is not None and recorder.store is not None else None
        self.push_screen(ResumeDialog(self.store.infos(), self.store.directory, run),
                         self._resume)

    def on_resume_from(self, message: ResumeFrom) -> None:
        """A run's details chose a checkpoint: close the view and train from it."""
        self.action_close_view()
        self._resume(message.path)

    def _reinit(self, choice: ReinitChoice | None) -> None:
        if choice is None:
            return
        same = choice.seed == SAME
        config = self.config
        if choice.preset is not None:  # its model and training settings; the rest stays
            config = preset(choice.preset).config(**{
                f: getattr(config, f) for f in RUN_FIELDS})
        try:
            config = config.with_changes(seed=self.config.seed if same else None)
            trainer = Trainer(self.trainer.corpus, config)  # its size is budgeted first
        except (ConfigError, CorpusError, MemoryError) as exc:
            self.notify(str(exc) or "out of memory", title="Cannot re-initialise",
                        severity="error", timeout=10, markup=False)
            return
        self._replace(trainer,
                      f"re-initialised {config.describe_model()} with the "
                      f"{'same' if same else 'new'} seed "
                      f"{config.seed if same else 'drawn afresh'}")

    def _resume(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            trainer = load_checkpoint(path, self.trainer.corpus)
        except (CheckpointError, MemoryError) as exc:  # a path from a run log: literal text
            self.notify(visible(str(exc) or "out of memory"), title="Cannot resume",
                        severity="error", timeout=10, markup=False)
            return
        self._replace(trainer, f"resumed {path.name} at iter {trainer.n}")

    def _replace(self, trainer: Trainer, what: str) -> None:
        """Train `trainer` from now on; the old worker saves its model's last checkpoint and
        ends, and the new model gets run files of its own."""
        old = self.session
        old.control.stop()
        recorder = self.recorder_factory(trainer) if self.recorder_factory else None
        self.session = self._new_session(trainer, old.iters, False, recorder)
        self.session.monitor.views = old.monitor.views
        self._shown_version = 0
        self._show_state_now(State.RUNNING)
        self.main_screen.new_model(trainer.config, f"{what}; seed {trainer.config.seed}" + (
            "" if recorder is not None or old.recorder is None else "; this model is not saved"))
        self._start(self.session)


def run_app(trainer: Trainer, iters: int | None = None,
            recorder: RunRecorder | None = None,
            recorder_factory: Callable[[Trainer], RunRecorder | None] | None = None,
            store: CheckpointStore | None = None) -> int:
    """Run the monitor in this terminal until the user quits; returns the exit status.

    When it returns the trainer thread has ended (the event loop joins it), after saving the
    final checkpoint through `recorder`.
    """
    app = CharRNNApp(trainer, iters=iters, recorder=recorder, recorder_factory=recorder_factory,
                     store=store, handle_signals=True)
    try:
        result = app.run()
    finally:
        app.session.control.stop()
    if result is not None:
        return result
    return app.return_code or Exit.OK
