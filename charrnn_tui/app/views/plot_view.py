"""The base of the views that draw a LossPlot: log y (L), smoothing steps ([ and ]), redraws.

`LossChartView` and `RunsView` share these keys; each says what its smoothing levels are
(`SMOOTHING_LEVELS`, stepped through by index) and how it draws (`redraw`).
"""

from __future__ import annotations

from textual.binding import Binding

from .view_screen import ViewScreen


class PlotView(ViewScreen):
    """Subclasses set SMOOTHING_LEVELS and implement `redraw`; `_drawn` caches their frame."""

    SMOOTHING_LEVELS: tuple = (0,)
    BINDINGS = [
        Binding("L", "toggle_log", "log y", id="plot-log"),
        Binding("left_square_bracket", "smoothing(-1)", "smooth−", key_display="[",
                id="plot-smooth-less"),
        Binding("right_square_bracket", "smoothing(1)", "smooth+", key_display="]",
                id="plot-smooth-more"),
    ]

    def __init__(self, vocab: str = "", smoothing: int = 0, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.log_y = False
        self.smoothing = smoothing  # index into SMOOTHING_LEVELS
        self._drawn: tuple | None = None

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
