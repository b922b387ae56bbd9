"""The base of the views that draw a LossPlot: log y (L), smoothing steps ([ and ]), redraws.

`LossChartView` and `RunsView` share these keys; each says what its smoothing levels are
(`SMOOTHING_LEVELS`, stepped through by index) and how it draws (`redraw`).

A chart costs the trainer its drawing (a few milliseconds, under the GIL), and a frame that
only brings newer points moves a whole-run curve by less than a dot: `due` lets such frames
redraw at most every LIVE_SECONDS, while a key (the settings) or a run that stopped moving
(paused, finished) redraws at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from textual.binding import Binding

from charrnn_tui.link.monitor import Snapshot, State

from .view_screen import LIVE_SECONDS, ViewScreen


class PlotView(ViewScreen):
    """Subclasses set SMOOTHING_LEVELS, implement `redraw` and draw when `due`."""

    SMOOTHING_LEVELS: tuple = (0,)
    BINDINGS = [
        Binding("L", "toggle_log", "log y", id="plot-log"),
        Binding("left_square_bracket", "smoothing(-1)", "smooth−", key_display="[",
                id="plot-smooth-less"),
        Binding("right_square_bracket", "smoothing(1)", "smooth+", key_display="]",
                id="plot-smooth-more"),
    ]

    def __init__(self, vocab: str = "", smoothing: int = 0,
                 clock: Callable[[], float] = time.monotonic, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.log_y = False
        self.smoothing = smoothing  # index into SMOOTHING_LEVELS
        self._drawn: tuple | None = None
        self._clock = clock
        self._drawn_at = -float("inf")

    def due(self, settings: Hashable, data: Hashable, snap: Snapshot | None) -> bool:
        """Whether a frame showing `data` with `settings` must be drawn (see the module's
        docstring); True also records it as drawn."""
        key = (settings, data)
        if key == self._drawn:
            return False
        now = self._clock()
        moving = snap is not None and snap.state is State.RUNNING
        if (self._drawn is not None and self._drawn[0] == settings and moving
                and now - self._drawn_at < LIVE_SECONDS):
            return False
        self._drawn, self._drawn_at = key, now
        return True

    def action_toggle_log(self) -> None:
        self.log_y = not self.log_y
        self._redraw()

    def action_smoothing(self, delta: int) -> None:
        top = len(self.SMOOTHING_LEVELS) - 1
        self.smoothing = max(0, min(top, self.smoothing + delta))
        self._redraw()

    def _redraw(self) -> None:
        self._drawn = None
        self.redraw()

    def redraw(self) -> None:
        """Draw again from what the view has (the settings changed)."""
