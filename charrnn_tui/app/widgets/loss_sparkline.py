"""A multi-row sparkline drawn with the line API: one segment per row, rebuilt only on new data.

Textual's `Sparkline` renders through Rich with a style per bar and Fraction bucketing; at a
few frames a second that was a quarter of the UI's time. This one averages the points into the
widget's width once per new snapshot and hands the compositor one string per row.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

BARS = " ▁▂▃▄▅▆▇█"


def fit(points: Sequence[float], width: int) -> list[float]:
    """Average `points` into at most `width` buckets, dropping non-finite values."""
    finite = [v for v in points if math.isfinite(v)]
    n = len(finite)
    if n <= width or width <= 0:
        return finite
    return [sum(finite[i * n // width:(i + 1) * n // width])
            / ((i + 1) * n // width - i * n // width) for i in range(width)]


def bar_rows(values: Sequence[float], height: int) -> list[str]:
    """Rows of block characters, top row first, scaled from min(values) to max(values)."""
    if not values or height <= 0:
        return [""] * max(0, height)
    low, high = min(values), max(values)
    span = high - low
    eighths = height * 8
    # the lowest value still gets one eighth, so the curve never vanishes
    levels = [1 + round((v - low) / span * (eighths - 1)) if span > 0 else eighths // 2
              for v in values]
    rows = []
    for row in range(height):
        base = (height - 1 - row) * 8
        rows.append("".join(BARS[min(8, max(0, lv - base))] for lv in levels))
    return rows


class LossSparkline(Widget):
    """Draws `points` (any length) across its full width."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._points: Sequence[float] = ()
        self._rows: list[str] = []

    def set_points(self, points: Sequence[float]) -> None:
        self._points = points
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width, height = self.size
        self._rows = bar_rows(fit(self._points, width), height)
        self.refresh()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style = self.rich_style  # once per repaint: it walks the DOM
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        style = self._style
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, style)
        return Strip([Segment(self._rows[y], style)]).crop_extend(0, width, style)
