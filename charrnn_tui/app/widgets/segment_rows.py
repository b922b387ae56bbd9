"""Rows of ready-made segments, and the colour scales the inspection views paint them with.

The views build their rows when a snapshot arrives (a few times a second at most) and this
widget hands the compositor one strip per row; styles come from small precomputed tables, so a
100-unit heatmap costs a list lookup per cell rather than a colour parse.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from charrnn_tui.scales import DIVERGING, HEAT, LEVELS, diverging, heat
from engine.text import printable  # the one rule for control characters (engine/text.py)

MAX_BASED = 4096  # remembered segments (labels vary; the cells' styles do not)

__all__ = ["DIVERGING", "HEAT", "LEVELS", "SegmentRows", "cells", "diverging", "heat",
           "printable"]

def cells(values: Sequence[float], width: int, style_of=diverging) -> list[Segment]:
    """One blank cell of `width` columns per value, runs of the same colour merged."""
    segments: list[Segment] = []
    run_style, run = None, 0
    for v in values:
        style = style_of(v)
        if style is run_style:
            run += width
            continue
        if run:
            segments.append(Segment(" " * run, run_style))
        run_style, run = style, width
    if run:
        segments.append(Segment(" " * run, run_style))
    return segments


class SegmentRows(Widget):
    """Shows `rows`, each a list of segments over the widget's own style.

    The strips are built once per `set_rows` (with the widget's style cached until the CSS
    changes), so a repaint only crops them.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._rows: list[list[Segment]] = []
        self._strips: list[Strip] | None = None
        self._base: Style | None = None
        # each segment over the base style, by segment: the cells repeat a few dozen styles,
        # so a redraw looks them up instead of making thousands of segments (half its cost)
        self._based: dict[Segment, Segment] = {}

    @property
    def plain(self) -> str:
        """The characters on screen, one line per row, without styles."""
        return "\n".join("".join(s.text for s in row) for row in self._rows)

    def set_rows(self, rows: list[list[Segment]]) -> None:
        if len(rows) != len(self._rows):
            self.styles.height = max(1, len(rows))
        self._rows = rows
        self._strips = None
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._base = None
        self._strips = None
        self._based = {}

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._strips is None:
            if self._base is None:
                self._base = self.rich_style  # it walks the DOM: once per style change
            base, width = self._base, self.size.width
            based = self._based
            if len(based) > MAX_BASED:
                based.clear()
            get = based.get
            strips = []
            for row in self._rows:
                segments = []
                for seg in row:  # as Segment.apply_style(row, base), remembered
                    out = get(seg)
                    if out is None:
                        out = based[seg] = Segment(seg.text,
                                                   base + seg.style if seg.style else base)
                    segments.append(out)
                strips.append(Strip(segments).crop_extend(0, width, base))
            self._strips = strips
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        strips = self._strips or []
        if y >= len(strips):
            return Strip.blank(self.size.width, self._base or self.rich_style)
        return strips[y]

    def on_resize(self) -> None:
        self._strips = None
