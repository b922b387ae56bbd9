"""The live monitor: a Textual app that trains the engine in a thread worker and steers it.

The worker runs `engine.run` (the loop the headless CLI uses) with a `Monitor` as its hooks;
a few times a second the monitor stores an immutable `Snapshot` and posts a coalescing
`SnapshotReady` message, and the app redraws only what changed. Every change to the trainer
(edits, resets, samples) is a command submitted to the `Control`, so it runs in the trainer
thread between steps.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer

from engine import (
    Config,
    ConfigError,
    Control,
    CorpusError,
    Outcome,
    Trainer,
    check_fits,
    check_trainer,
    run,
)
from engine.checkpoint import CheckpointError, CheckpointStore, load_checkpoint

from .dialogs.reinit_dialog import SAME, ReinitDialog
from .dialogs.resume_dialog import ResumeDialog
from .exit_status import Exit
from .monitor import Monitor, Snapshot, State
from .run_files import RunRecorder
from .views.gradcheck_view import GradCheckDone, GradCheckView
from .views.hidden_view import HiddenView
from .views.loss_chart_view import LossChartView
from .views.stepthrough_view import StepThroughView
from .views.surprisal_view import SurprisalView
from .views.view_screen import ViewScreen
from .widgets.adagrad_pane import AdagradPane
from .widgets.controls_pane import FIELDS, ControlsPane
from .widgets.loss_pane import LossPane
from .widgets.samples_pane import SamplesPane
from .widgets.status_line import StatusLine

# Snapshots (and frames) per second, chosen with `python -m charrnn_tui.bench`. Under the GIL
# training loses about twice the UI thread's CPU time (handoffs included): drawing everything
# at 5 Hz took 4-6% of a core and left 0.88-0.91 of the headless rate. At 4 Hz, with the
# status line every frame, the loss pane and the Adagrad table every SLOW_EVERY frames and
# samples every SAMPLES_SECONDS (a scrolled pane repaints every line), the UI takes ~2.8% and
# training keeps ~0.94. Key presses and changes of state draw at once (an urgent frame).
REFRESH_HZ = 4.0
SLOW_EVERY = 2
SAMPLES_SECONDS = 2.0
MIN_KEY_TEMPERATURE = 0.1  # below this, `t` halves instead of stepping by 0.1
LR_KEYS = Binding.Group("lr", compact=True)  # one footer entry per pair of keys
TEMPERATURE_KEYS = Binding.Group("temp", compact=True)
VIEW_KEYS = Binding.Group("views", compact=True)
PAUSED_ONLY_VIEWS = ("stepthrough",)  # opened only while paused (g is an action of its own)


@dataclass
class Session:
    """One model being trained: the trainer, its controls and its monitor."""

    trainer: Trainer
    control: Control
    monitor: Monitor
    iters: int | None  # iterations to train, then stay open (None: until quit)
    recorder: RunRecorder | None  # autosave and run log, driven from the trainer thread


class SnapshotReady(Message):
    """Posted by the trainer thread after each snapshot; a newer one replaces a queued one, so
    a busy UI skips frames instead of falling behind. `urgent`: it shows a command's effect or
    a change of state, so every pane is drawn."""

    def __init__(self, urgent: bool) -> None:
        super().__init__()
        self.urgent = urgent

    def can_replace(self, message: Message) -> bool:
        # Textual asks a queued message whether the next one may take its place: yes,
        # unless that would lose an urgent frame
        return isinstance(message, SnapshotReady) and (message.urgent or not self.urgent)


@dataclass
class Notice(Message):
    """Something to tell the user, posted from any thread (a failed command, a failed save)."""

    text: str
    title: str = ""
    severity: str = "warning"


class CharRNNApp(App[int]):
    """Loss, samples, Adagrad statistics and live controls for one training run."""

    CSS_PATH = "app.tcss"
    TITLE = "charrnn-tui"
    AUTO_FOCUS = None  # keys drive training until an input is clicked or tabbed to
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (70, "-narrow"), (110, "-wide")]
    BINDINGS = [
        Binding("p,space", "pause", "Pause", id="pause"),
        Binding("p,space", "resume", "Resume", id="resume"),
        Binding("s", "sample", "Sample", id="sample"),
        Binding("n", "step", "Step", id="step"),
        Binding("r", "reset_hidden", "Reset h", id="reset-hidden"),
        Binding("R", "reinit", "Re-init", id="reinit"),
        Binding("plus", "scale_lr(2.0)", "lr×2", key_display="+", id="lr-up", group=LR_KEYS),
        Binding("minus", "scale_lr(0.5)", "lr÷2", key_display="-", id="lr-down",
                group=LR_KEYS),
        Binding("t", "step_temperature(-1)", "temp−", id="temperature-down",
                group=TEMPERATURE_KEYS),
        Binding("T", "step_temperature(1)", "temp+", id="temperature-up",
                group=TEMPERATURE_KEYS),
        Binding("h", "view('hidden')", "Hidden", id="view-hidden", group=VIEW_KEYS),
        Binding("u", "view('surprisal')", "Surprisal", id="view-surprisal", group=VIEW_KEYS),
        Binding("g", "gradient_check", "Grad check", id="view-gradcheck", group=VIEW_KEYS),
        Binding("w", "view('stepthrough')", "Step-through", id="view-stepthrough",
                group=VIEW_KEYS),
        Binding("l", "view('chart')", "Loss chart", id="view-chart", group=VIEW_KEYS),
        Binding("ctrl+s", "save", "Save", id="save"),
        Binding("o", "resume_picker", "Resume…", id="resume-picker"),
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("escape", "leave_input", "Leave input", show=False),
    ]

    def __init__(self, trainer: Trainer, *, iters: int | None = None,
                 recorder: RunRecorder | None = None,
                 recorder_factory: Callable[[Trainer], RunRecorder | None] | None = None,
                 store: CheckpointStore | None = None, refresh_hz: float = REFRESH_HZ,
                 paused: bool = False, handle_signals: bool = False) -> None:
        """`recorder` saves and logs this run; `recorder_factory` makes one for a model that
        replaces it (R, or a resumed checkpoint); `store` is where the resume picker looks.
        `paused` starts the worker paused (tests, snapshots); `handle_signals` makes
        SIGINT/SIGTERM quit cleanly (only for the real terminal, not under a test runner)."""
        super().__init__()
        self.refresh_hz = refresh_hz
        self.handle_signals = handle_signals
        self.recorder_factory = recorder_factory
        self.store = store if store is not None else getattr(recorder, "store", None)
        self.session = self._new_session(trainer, iters, paused, recorder)
        self.state = State.PAUSED if paused else State.RUNNING
        self._shown_version = 0
        self._frame = 0
        self._samples_drawn = 0.0
        self._exit_code = Exit.OK

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.loss, self.adagrad = LossPane(id="loss"), AdagradPane(id="adagrad")
        self.samples = SamplesPane(id="samples")
        self.controls = ControlsPane(self.config, id="controls")
        self.status = StatusLine(id="status")
        # the status line sits on top, next to the panes that change every frame: a repaint
        # covers the rectangle around everything that changed
        yield self.status
        with Horizontal(id="top"):
            yield self.loss
            yield self.adagrad
        with Horizontal(id="bottom"):
            yield self.samples
            yield self.controls
        yield Footer(id="footer", compact=True)

    def on_mount(self) -> None:
        self._describe_start()
        # the first frame shows the untrained model (the worker has not started: safe here)
        self.session.monitor.mark_urgent()
        self.session.monitor.publish(self.trainer)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, self.action_quit)
        # the first frame is drawn before the trainer starts competing for the GIL
        self.call_after_refresh(self._start, self.session)

    def on_unmount(self) -> None:
        self.session.control.stop()  # however the app ends, the worker returns

    # -- the trainer thread ----------------------------------------------------------------

    @property
    def trainer(self) -> Trainer:
        return self.session.trainer

    @property
    def config(self) -> Config:
        """The settings in effect (or queued to take effect before the next step)."""
        return self._config

    def _new_session(self, trainer: Trainer, iters: int | None, paused: bool,
                     recorder: RunRecorder | None) -> Session:
        control = Control(paused=paused)
        monitor = Monitor(trainer, control,
                          notify=lambda urgent: self.post_message(SnapshotReady(urgent)))
        self._config = trainer.config
        if recorder is not None:  # its messages go to the screen, not to stderr under it
            recorder.report = lambda text: self.post_message(Notice(text, "Run files"))
            recorder.on_saved = _also(monitor.note_saved, recorder.on_saved)
        return Session(trainer, control, monitor, iters, recorder)

    def _start(self, session: Session) -> None:
        if session is self.session and not session.control.stopped:
            self._train(session)

    @work(thread=True, exclusive=True, group="trainer", exit_on_error=False)
    def _train(self, session: Session) -> Outcome:
        """Run the shared loop; after it ends, keep answering commands (sample, edits) until
        the app stops the control."""
        tr, control, mon, rec = (session.trainer, session.control, session.monitor,
                                 session.recorder)
        on_step = mon.on_step
        if rec is not None:
            def on_step(result, monitor_step=mon.on_step, after_step=rec.after_step):
                monitor_step(result)
                after_step(tr)
        try:
            outcome = run(tr, control, session.iters, on_step=on_step,
                          on_tick=mon.publish, tick_seconds=1.0 / self.refresh_hz,
                          on_diverged=mon.on_diverged, stop_on_divergence=False)
        except Exception as exc:  # shown in the app; the terminal stays usable
            if rec is not None:
                rec.finish(tr, save=False)  # a trainer that raised is not worth saving
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

    def _submit(self, command: Callable[[Trainer], None]) -> None:
        """Run `command(trainer)` in the trainer thread before the next step."""
        monitor = self.session.monitor

        def guarded(trainer: Trainer) -> None:
            try:
                command(trainer)
            except Exception as exc:  # report it; a failed command must not end training
                self.post_message(Notice(f"{type(exc).__name__}: {exc}", "Command failed",
                                         "error"))
            monitor.mark_urgent()

        self.session.control.submit(guarded)

    # -- drawing ---------------------------------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        self._draw(everything=message.urgent)

    def on_notice(self, message: Notice) -> None:
        self.notify(message.text, title=message.title, severity=message.severity)

    def _draw(self, everything: bool = False) -> None:
        """Draw the newest snapshot, if the screen does not show it yet.

        Every frame costs the trainer the UI thread's time under the GIL, so the bigger panes
        are drawn less often: the loss pane and the Adagrad table every SLOW_EVERY frames,
        periodic samples every SAMPLES_SECONDS (a scrolled pane repaints all its lines). A
        frame that follows a key press or a change of state (`everything`) draws them all.
        """
        snap = self.session.monitor.latest
        if snap is None or snap.version == self._shown_version or not self.is_running:
            return
        self._shown_version = snap.version
        self._frame += 1
        everything = everything or snap.state is not State.RUNNING
        slow = everything or self._frame % SLOW_EVERY == 0
        view = self.screen
        if isinstance(view, ViewScreen):  # it covers the panes: draw only the view
            view.status.show(snap)
            if slow:
                view.show(snap)
            if snap.state is not self.state:
                self._enter(snap)
            return
        self.status.show(snap)
        if slow:
            self.loss.show(snap)
            self.adagrad.show(snap)
        now = time.monotonic()
        if everything or now - self._samples_drawn >= SAMPLES_SECONDS:
            self._samples_drawn = now
            self.samples.add(snap.samples)
        if snap.state is not self.state:
            self._enter(snap)

    def _enter(self, snap: Snapshot) -> None:
        """The run changed state: update the keys, and explain a divergence or an error."""
        if self.state is State.DIVERGED and snap.state is State.RUNNING:
            self.clear_notifications()  # the explanation no longer applies
        self.state = snap.state
        self.refresh_bindings()
        if snap.state in (State.DIVERGED, State.ERROR):
            title = "Diverged" if snap.state is State.DIVERGED else "Trainer error"
            self.notify(snap.message, title=title, severity="error", timeout=12)
            self.samples.note(f"{snap.state.value} at iter {snap.stats.iteration}: "
                              f"{snap.message}")
            self._exit_code = Exit.DIVERGED if snap.state is State.DIVERGED else Exit.ERROR
        elif snap.state is State.FINISHED:
            self.samples.note(f"finished at iter {snap.stats.iteration} (s still samples, "
                              "q quits)")
        if snap.state is not State.DIVERGED and self._exit_code == Exit.DIVERGED:
            self._exit_code = Exit.OK

    def _describe_start(self) -> None:
        tr = self.trainer
        c = tr.corpus
        self.samples.note(
            f"{c.name}: {len(c)} chars, vocab {c.vocab_size}; hidden {tr.config.hidden_size}, "
            f"seed {tr.config.seed}")

    # -- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.state
        if action == "pause":
            return state is State.RUNNING or (None if state is State.FINISHED else False)
        if action == "resume":
            return state in (State.PAUSED, State.DIVERGED)
        if action == "step":
            return True if state in (State.PAUSED, State.DIVERGED) else None
        if action == "gradient_check" or (action == "view" and parameters
                                          and parameters[0] in PAUSED_ONLY_VIEWS):
            # opening needs a pause; closing an open view does not
            is_open = isinstance(self.screen, ViewScreen) and parameters == (self.screen.NAME,)
            return True if state is not State.RUNNING or is_open else None
        return True

    def action_pause(self) -> None:
        self.session.control.pause()
        self._optimistic(State.PAUSED)

    def action_resume(self) -> None:
        self.session.control.resume()
        self._optimistic(State.RUNNING)

    def action_toggle_pause(self) -> None:
        if self.state is State.RUNNING:
            self.action_pause()
        elif self.state in (State.PAUSED, State.DIVERGED):
            self.action_resume()

    def action_step(self) -> None:
        self.session.control.step(1)

    def action_view(self, name: str) -> None:
        """Open the view `name`, or close it if it is in front (another view is replaced)."""
        current = self.screen
        if isinstance(current, ViewScreen) and current.NAME == name:
            self.action_close_view()
            return
        view = self._make_view(name)
        if isinstance(current, ViewScreen):
            self.switch_screen(view)
        else:
            self.push_screen(view)

    def _make_view(self, name: str) -> ViewScreen:
        vocab = self.trainer.corpus.vocab
        return {"hidden": lambda: HiddenView(vocab), "surprisal": lambda: SurprisalView(vocab),
                "stepthrough": lambda: StepThroughView(vocab), "chart": LossChartView,
                "gradcheck": GradCheckView}[name]()

    def action_close_view(self) -> None:
        if isinstance(self.screen, ViewScreen):
            self.pop_screen()
            self.views_changed()

    def views_changed(self) -> None:
        """A view came to the front or went: ask the monitor for what it needs, redraw."""
        screen = self.screen
        needs = screen.NEEDS if isinstance(screen, ViewScreen) else frozenset()
        monitor = self.session.monitor
        if needs != monitor.views:
            monitor.views = needs
        self._shown_version = 0
        self._submit(lambda trainer: None)  # publish a snapshot with it now, even if paused
        self.refresh_bindings()

    def action_gradient_check(self) -> None:
        """Open the gradient-check view (or re-check in it): runs in the trainer thread."""
        if isinstance(self.screen, GradCheckView):
            self.screen.running()
        elif isinstance(self.screen, ViewScreen):
            self.switch_screen(GradCheckView())
        else:
            self.push_screen(GradCheckView())

        def check(trainer: Trainer) -> None:
            done = check_trainer(trainer)
            self.post_message(GradCheckDone(done.iteration, done.source, done.results))

        self._submit(check)

    def on_grad_check_done(self, message: GradCheckDone) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, GradCheckView):
                screen.show_results(message)

    def action_sample(self) -> None:
        self._submit(self.session.monitor.sample_now)

    def action_reset_hidden(self) -> None:
        self._submit(lambda tr: tr.reset_hidden())
        self.samples.note(f"hidden state reset to zeros at iter {self.trainer.n}")

    def action_reinit(self) -> None:
        self.push_screen(ReinitDialog(self.config.seed), self._reinit)

    def action_scale_lr(self, factor: float) -> None:
        self._apply("learning_rate", self.config.learning_rate * factor)

    def action_step_temperature(self, direction: int) -> None:
        t = self.config.temperature
        if direction < 0:
            new = t / 2 if t <= MIN_KEY_TEMPERATURE + 1e-9 else t - 0.1
        else:
            new = t + 0.1
        self._apply("temperature", float(f"{new:.4g}"))

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

    def action_resume_picker(self) -> None:
        if self.store is None:
            self.notify("no checkpoint directory for this run", title="Resume")
            return
        self.push_screen(ResumeDialog(self.store.infos(), self.store.directory), self._resume)

    def action_leave_input(self) -> None:
        self.screen.set_focus(None)

    def action_quit(self) -> None:  # also Ctrl+C, SIGINT and SIGTERM
        self.session.control.stop()
        self.exit(self._exit_code)

    def _optimistic(self, state: State) -> None:
        """Show a state at once; the next snapshot confirms it within a step."""
        self.state = state
        self.refresh_bindings()
        snap = self.session.monitor.latest
        if snap is not None:
            self.status.show(snap, state)
            if isinstance(self.screen, ViewScreen):
                self.screen.status.show(snap, state)

    # -- settings --------------------------------------------------------------------------

    def on_controls_pane_edited(self, event: ControlsPane.Edited) -> None:
        if self._apply(event.field, event.value):
            self.screen.set_focus(None)  # back to the keys

    def _apply(self, field: str, value: int | float) -> bool:
        """Validate one change against the whole Config; apply it between steps, or say why
        not. Returns whether it was applied."""
        pane = self.controls
        label = next(lab for lab, f, _ in FIELDS if f == field)
        try:
            config = self.config.with_changes(**{field: value})
            check_fits(self.trainer.corpus, config)
        except (ConfigError, CorpusError) as exc:
            pane.report(False, str(exc))
            return False
        self._config = config
        pane.set_config(config)
        pane.report(True, f"{label} {value:g}: applies before the next step")
        self._submit(lambda tr: tr.set_config(config))
        return True

    def _reinit(self, choice: str | None) -> None:
        if choice is None:
            return
        config = self.config if choice == SAME else self.config.with_changes(seed=None)
        self._replace(Trainer(self.trainer.corpus, config),
                      f"re-initialised with the {'same' if choice == SAME else 'new'} seed "
                      f"{config.seed if choice == SAME else 'drawn afresh'}")

    def _resume(self, path: Path | None) -> None:
        if path is None:
            return
        try:
            trainer = load_checkpoint(path, self.trainer.corpus)
        except CheckpointError as exc:
            self.notify(str(exc), title="Cannot resume", severity="error", timeout=10)
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
        self._optimistic(State.RUNNING)
        self.samples.restart()
        self.controls.set_config(trainer.config)
        self.samples.note(f"{what}; seed {trainer.config.seed}"
                          + ("" if recorder is not None or old.recorder is None
                             else "; this model is not saved"))
        self._start(self.session)

    # -- command palette -------------------------------------------------------------------

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Pause / resume training", "p or space", self.action_toggle_pause)
        yield SystemCommand("Sample now", "s: from the current state, without disturbing "
                            "training", self.action_sample)
        yield SystemCommand("One training step", "n: while paused", self.action_step)
        yield SystemCommand("Reset hidden state", "r: the next window starts from h = 0",
                            self.action_reset_hidden)
        yield SystemCommand("Re-initialise the model", "R: asks first", self.action_reinit)
        yield SystemCommand("Learning rate ×2", "+", lambda: self.action_scale_lr(2.0))
        yield SystemCommand("Learning rate ÷2", "-", lambda: self.action_scale_lr(0.5))
        yield SystemCommand("Temperature down", "t", lambda: self.action_step_temperature(-1))
        yield SystemCommand("Temperature up", "T", lambda: self.action_step_temperature(1))
        yield SystemCommand("Hidden state view", "h: heatmap of h, saturated units, the last "
                            "window's states", lambda: self.action_view("hidden"))
        yield SystemCommand("Surprisal view", "u: the last window coloured by loss, top-k "
                            "next characters", lambda: self.action_view("surprisal"))
        yield SystemCommand("Gradient check", "g: numerical vs analytic gradients (while "
                            "paused)", self.action_gradient_check)
        yield SystemCommand("Step-through view", "w: one window per timestep; n steps (while "
                            "paused)", lambda: self.action_view("stepthrough"))
        yield SystemCommand("Loss chart", "l: axes, wall time, log scale, smoothing, CSV "
                            "export", lambda: self.action_view("chart"))
        yield SystemCommand("Save a checkpoint now", "ctrl+s", self.action_save)
        yield SystemCommand("Resume from a checkpoint", "o: pick from this corpus's "
                            "checkpoints", self.action_resume_picker)


def _also(note: Callable[[Path], None], previous: Callable[[Path], None] | None
          ) -> Callable[[Path], None]:
    """A recorder's on_saved hook that also tells the monitor (in the trainer thread)."""
    def on_saved(path: Path) -> None:
        note(path)
        if previous is not None:
            previous(path)

    return on_saved


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
