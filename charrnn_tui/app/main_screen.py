"""The main screen: four panes over a status line and the key footer.

It owns the panes, draws each snapshot the app hands it (the big panes less often than the
status line, see `draw`), writes the run's events into the samples pane, and checks edits from
the Controls pane (and the lr / temperature keys) against the whole Config before the app
sends them to the run, which checks them again against its corpus and machine; a refusal
comes back to the pane with its reason.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from engine import Config, ConfigError

from ..link.monitor import Snapshot, State
from ..link.protocol import SettingsDone
from .widgets.controls_pane import FIELDS, ControlsPane
from .widgets.loss_pane import LossPane
from .widgets.optimizer_pane import MAX_ROWS, OptimizerPane
from .widgets.samples_pane import SamplesPane
from .widgets.status_line import StatusLine

if TYPE_CHECKING:
    from .app import CharRNNApp

# periodic samples are written at most this often (a scrolled pane repaints every line)
SAMPLES_SECONDS = 2.0


class MainScreen(Screen):
    """Loss, Adagrad statistics, samples and live controls for the current model."""

    app: CharRNNApp

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._samples_drawn = 0.0
        self._top_height: int | None = None  # set only for a network's longer table

    def compose(self) -> ComposeResult:
        self.loss, self.optimizer = LossPane(id="loss"), OptimizerPane(id="optimizer")
        self.samples = SamplesPane(id="samples")
        self.controls = ControlsPane(self.app.config, id="controls")
        self.status = StatusLine(id="status")
        # the status line sits on top, next to the panes that change every frame: a repaint
        # covers the rectangle around everything that changed
        yield self.status
        with Horizontal(id="top"):
            yield self.loss
            yield self.optimizer
        with Horizontal(id="bottom"):
            yield self.samples
            yield self.controls
        yield Footer(id="footer", compact=True)

    def on_mount(self) -> None:
        info = self.app.link.info
        self.samples.note(
            f"{info.corpus_name}: {info.corpus_chars} chars, vocab {len(info.vocab)}; "
            f"{info.config.describe_model()}, seed {info.config.seed}")

    # -- drawing ---------------------------------------------------------------------------

    def draw(self, snap: Snapshot, slow: bool, everything: bool) -> None:
        """The status line every frame; the loss and Adagrad panes on `slow` frames; new
        periodic samples every SAMPLES_SECONDS, or at once when `everything` is drawn."""
        self.status.show(snap)
        if slow:
            self.loss.show(snap)
            self._fit_optimizer_rows(len(snap.stats.param_names))
            self.optimizer.show(snap)
            if self.controls.config != self.app.config:  # another client's edit, say
                self.controls.set_config(self.app.config)
        now = time.monotonic()
        if everything or now - self._samples_drawn >= SAMPLES_SECONDS:
            self._samples_drawn = now
            self.samples.add(snap.samples, snap.story)

    def _fit_optimizer_rows(self, params: int) -> None:
        """A network's optimizer table has more rows than min-char-rnn's five, for which
        app.tcss sizes the top row: grow it to fit (header, two lines, border)."""
        height = min(params, MAX_ROWS + 1) + 5 if params > 5 else None  # None: app.tcss's
        if height != self._top_height:
            self._top_height = height
            self.query_one("#top").styles.height = height

    def note(self, text: str) -> None:
        """An event of the run, as a rule line in the samples pane."""
        self.samples.note(text)

    def note_state(self, snap: Snapshot, attached: bool) -> None:
        """The run changed state: say so in the samples pane (q leaves an attached run)."""
        if snap.state in (State.DIVERGED, State.ERROR):
            self.note(f"{snap.state.value} at iter {snap.stats.iteration}: {snap.message}")
        elif snap.state is State.FINISHED:
            self.note(f"finished at iter {snap.stats.iteration} "
                      f"(s still samples, q {'leaves' if attached else 'quits'})")

    def new_model(self, config: Config, what: str) -> None:
        """Another model replaced the old one: its samples number from 1, its settings show."""
        self.samples.restart()
        self.controls.set_config(config)
        self.note(what)

    # -- edits -----------------------------------------------------------------------------

    def on_controls_pane_edited(self, event: ControlsPane.Edited) -> None:
        # the focus stays in the field, applied or not: a user who is typing keeps typing
        # (keys like - or q would otherwise steer the run); Esc or Tab leaves it
        self.apply_setting(event.field, event.value)

    def apply_setting(self, field: str, value: int | float) -> bool:
        """Check one change against the whole Config and send it to the run (which applies it
        between steps, or answers why not), or say at once why not in the Controls pane.
        Returns whether it was sent."""
        app, pane = self.app, self.controls
        label = next(lab for lab, f, _ in FIELDS if f == field)
        try:
            config = app.config.with_changes(**{field: value})
        except ConfigError as exc:
            pane.report(False, str(exc), field)
            return False
        app.link.change_settings(config)
        pane.set_config(config)
        pane.report(True, f"{label} {value:g}: applies before the next step")
        return True

    def settings_done(self, done: SettingsDone) -> None:
        """The run refused an edit: say why, and show what is in effect."""
        if done.error:
            self.controls.report(False, done.error, done.field)
            self.controls.set_config(self.app.config)
