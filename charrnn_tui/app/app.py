"""The live monitor: a Textual app over one run, in this process or attached through a socket.

The app routes; the screens behave. It holds a `Link` (link/link.py): a `LocalLink` trains
in the app's thread worker (`link.local.train`, the loop the headless CLI uses), a
`RemoteLink` reads a run of another process there instead; the screens cannot tell which.
Keys become commands sent over the link, snapshots go to the screen in front (the
`MainScreen` or a full-screen view), and events (answers, notices, the run's end) to whoever
asked. Keys, footer, gating and palette come from one table, `actions.ACTIONS`; replacing the
run (R, o, D, attaching elsewhere) is `run_swaps.RunSwaps`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual import work
from textual.app import App
from textual.worker import Worker, WorkerState

from charrnn_tui.cli.exit_status import ENDING_SIGNALS, Exit
from charrnn_tui.link.handover import HandOver
from charrnn_tui.link.link import Link, Listener
from charrnn_tui.link.local import LocalLink, Session
from charrnn_tui.link.monitor import Snapshot, State
from charrnn_tui.link.protocol import (
    Error,
    GradCheckDone,
    GradCheckProgress,
    Notice,
    ProbeDone,
    ProbeProgress,
    RunEnded,
    SettingsDone,
)
from charrnn_tui.link.server import ListenError, RunServer
from charrnn_tui.run_files import RunRecorder
from engine import Config, Trainer
from engine.store.checkpoint import CheckpointStore
from engine.text import visible

from . import actions
from .commands import TrainingCommands
from .main_screen import MainScreen
from .messages import LinkEvent, SnapshotReady
from .run_keys import RunKeys
from .run_swaps import RunSwaps
from .views.probe_view import ProbeView

# Snapshots (and frames) per second, chosen with `python -m charrnn_tui.bench`. Under the GIL
# training loses about twice the UI thread's CPU time (handoffs included): drawing everything
# at 5 Hz took 4-6% of a core and left 0.88-0.91 of the headless rate. At 4 Hz, with the
# status line every frame, the loss pane and the Adagrad table every SLOW_EVERY frames,
# samples every main_screen.SAMPLES_SECONDS (a scrolled pane repaints every line) and a
# view's body at most every second, the UI takes ~1.5-2.5% of a core and training keeps
# 0.93-0.99 of the headless rate, screen for screen. Keys and changes of state draw at once.
REFRESH_HZ = 4.0
SLOW_EVERY = 2

Listen = Callable[[Session], RunServer | None]  # starts a session's socket server (the CLI's)


class CharRNNApp(RunKeys, RunSwaps, App[int]):
    """Shows one run at a time and steers it; the run is this app's own or an attached one."""

    CSS_PATH = Path(__file__).with_name("app.tcss")  # absolute: subclasses live elsewhere
    TITLE = "charrnn-tui"
    AUTO_FOCUS = None  # keys drive training until an input is clicked or tabbed to
    HORIZONTAL_BREAKPOINTS = [(0, "-tiny"), (70, "-narrow"), (110, "-wide")]
    BINDINGS = actions.BINDINGS
    COMMANDS = App.COMMANDS | {TrainingCommands}

    def __init__(self, run: Trainer | Link, *, iters: int | None = None,
                 recorder: RunRecorder | None = None,
                 recorder_factory: Callable[[Trainer], RunRecorder | None] | None = None,
                 store: CheckpointStore | None = None, refresh_hz: float = REFRESH_HZ,
                 paused: bool = False, handle_signals: bool = False,
                 listen: Listen | None = None, hand_over: HandOver | None = None) -> None:
        """`run`: a trainer to train here, or a link to a run elsewhere. For a run trained here:
        `recorder` saves and logs it, `recorder_factory` makes one for a model that replaces it
        (R, o), `store` is where the resume picker looks, `listen` starts its socket server,
        `hand_over` says how D moves it to a process of its own, `paused` starts it paused.
        `handle_signals`: SIGINT, SIGTERM and SIGHUP quit as q does (a real terminal only)."""
        super().__init__()
        self.refresh_hz = refresh_hz
        self.handle_signals = handle_signals
        self.recorder_factory = recorder_factory
        self.store = store if store is not None else getattr(recorder, "store", None)
        self.listen = listen
        self.hand_over_to = hand_over
        self.server: RunServer | None = None
        self.link = run if isinstance(run, Link) else self.local_link(trainer=run, iters=iters,
                                                                      paused=paused,
                                                                      recorder=recorder)
        self._connect(self.link)
        welcome = getattr(self.link, "welcome", None)
        self.state = State(welcome.state) if welcome else (
            State.PAUSED if paused else State.RUNNING)
        self.main_screen = MainScreen()
        self._shown_version = 0
        self._frame = 0
        self._exit_code = Exit.OK
        self._probes: dict[int, ProbeView] = {}  # requests out, by the view that asked

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def on_mount(self) -> None:
        if isinstance(self.link, LocalLink):  # the untrained model, before the worker starts
            self.link.session.monitor.mark_urgent()
            self.link.session.monitor.publish(self.link.trainer)
        if self.handle_signals:
            loop = asyncio.get_running_loop()
            for sig in ENDING_SIGNALS:
                loop.add_signal_handler(sig, self.action_quit)
        # the first frame is drawn before the trainer starts competing for the GIL
        self.call_after_refresh(self._start, self.link)

    def on_unmount(self) -> None:
        self.link.close()  # however the app ends, the worker returns (a local run saves)
        self.stop_listening("the app ended")

    @property
    def attached(self) -> bool:
        """The run is another process's (R, o and D are not offered)."""
        return self.link.remote

    @property
    def session(self) -> Session:
        """This app's own run (not while attached)."""
        return self.link.session

    @property
    def trainer(self) -> Trainer:
        return self.link.session.trainer

    @property
    def config(self) -> Config:
        """The settings in effect (or on their way to the run)."""
        return self.link.config

    @property
    def shown_version(self) -> int:
        """The version of the snapshot on screen (0: none since the screen changed)."""
        return self._shown_version

    # -- the link and its worker ---------------------------------------------------------

    def _connect(self, link: Link) -> None:
        link.listener = Listener(lambda urgent: self.post_message(SnapshotReady(urgent)),
                                 lambda event: self.post_message(LinkEvent(event, link)))

    def _start(self, link: Link) -> None:
        if link is not self.link:
            return
        if isinstance(link, LocalLink) and self.listen is not None and self.server is None:
            try:
                self.server = self.listen(link.session)
            except ListenError as exc:
                self.notify(f"{exc}; this run trains on", title="Not listening for clients")
        self._run_link(link)

    @work(thread=True, exclusive=True, group="trainer", exit_on_error=False)
    def _run_link(self, link: Link) -> object:
        return link.run()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place a worker's failure shows (`train` reports its own errors)."""
        if event.state is WorkerState.ERROR:
            self.notify(f"{event.worker.error!r}", title="Worker failed", severity="error")

    # -- routing snapshots and events ----------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        """Draw the newest snapshot on the screen in front, if it does not show it yet.

        Every frame costs the trainer the UI thread's time under the GIL, so the bigger panes
        are drawn on every SLOW_EVERY-th frame only; a frame that follows a key press or a
        change of state (`urgent`) draws them all.
        """
        snap = self.link.latest
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
                view.draw(snap, everything)
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
        self.main_screen.note_state(snap, self.attached)
        if snap.state is not State.DIVERGED and self._exit_code == Exit.DIVERGED:
            self._exit_code = Exit.OK

    def on_link_event(self, message: LinkEvent) -> None:
        """What the run says to this client: answers go to whoever asked."""
        if message.source is not self.link:
            return  # the last words of a link this app has left
        match message.event:
            case Notice(text=text, title=title, severity=severity):  # may name files: literal
                self.notify(visible(text), title=visible(title), severity=severity,
                            markup=False)
            case SettingsDone() as done:
                self.main_screen.settings_done(done)
            case ProbeProgress(request=request) as event:
                if (view := self._probes.get(request)) is not None:
                    view.progress_of(event)
            case ProbeDone(request=request) as event:
                if (view := self._probes.pop(request, None)) is not None:
                    view.done(event)
            case GradCheckProgress(done=done, total=total):
                for view in self._gradcheck_views():
                    view.progress(done, total)
            case GradCheckDone(check=check, error=error):
                for view in self._gradcheck_views():
                    if check is not None:
                        view.show_results(check)
                    else:
                        view.failed(error)
            case RunEnded(reason=reason):
                self.run_ended(reason)
            case Error(reason=reason):
                self.notify(visible(reason), title="The run refused a message",
                            severity="error", markup=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return actions.availability(action, parameters, self.state, self._view_in_front(),
                                    self.attached)
