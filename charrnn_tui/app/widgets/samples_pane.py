"""The Samples pane: generated text, newest at the bottom, each headed by its iteration.

A Log-style line widget: text is drawn literally as segments (samples contain `[` and other
markup characters), at most MAX_LINES lines are kept, and lines are wrapped here at the pane's
width. Its virtual height is fixed at MAX_LINES (blank at the top until the history fills), so
writing never changes the layout: a growing `Log` costs a layout and a full-screen repaint on
every write, several percent of a core in `python -m charrnn_tui.bench`.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from rich.cells import chop_cells
from rich.segment import Segment
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from charrnn_tui.link.monitor import Sample
from engine.text import visible

MAX_LINES = 500
MAX_PER_DRAW = 2  # at 1000 it/s and a sample every 100, only the newest few are readable


class SamplesPane(ScrollView, can_focus=True):
    """Writes each Sample once, in order, under a rule naming its iteration."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"samples-pane--rule"}
    """
    | Class | Description |
    | :- | :- |
    | `samples-pane--rule` | The rule over each sample (its iteration) and event notes. |
    """

    DEFAULT_CSS = """
    SamplesPane {
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-title-style: bold;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    SamplesPane > .samples-pane--rule {
        color: $text-primary;
        text-style: bold;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Samples"
        self.border_subtitle = "newest at the bottom"
        self._last_serial = 0
        # what was written, kept unwrapped so a resize can re-wrap it: (text, is_rule)
        self._entries: deque[tuple[str, bool]] = deque(maxlen=MAX_LINES)
        self._lines: deque[tuple[str, bool]] = deque(maxlen=MAX_LINES)
        self._wrap_width = 0
        self.virtual_size = Size(0, MAX_LINES)

    @property
    def last_serial(self) -> int:
        """The serial of the newest Sample written (0: none yet)."""
        return self._last_serial

    @property
    def lines(self) -> list[str]:
        """The wrapped lines the pane holds, oldest first: what scrolling shows."""
        return [text for text, _ in self._lines]

    # -- writing ---------------------------------------------------------------------------

    def add(self, samples: tuple[Sample, ...], story: tuple[Sample, ...] = ()) -> None:
        """Write the entries not written yet: every note, and the newest MAX_PER_DRAW samples
        (older unwritten ones are skipped); on the first draw, the run's story before them
        (a client joining a run that has trained for a while sees how it learned)."""
        first = self._last_serial == 0
        if first and story:
            recent = {s.serial for s in samples}
            samples = (*(s for s in story if s.serial not in recent), *samples)
        new = [s for s in samples if s.serial > self._last_serial]
        if not new:
            return
        self._last_serial = new[-1].serial
        shown = {s.serial for s in new if not s.note}
        if not first:
            shown = set(sorted(shown)[-MAX_PER_DRAW:])
        entries = []
        for s in new:
            if s.note:
                entries.append((s.text, True))
            elif s.serial in shown:
                entries.append((header(s), True))
                entries.extend((line, False) for line in s.text.split("\n"))
        self._write(entries)

    def note(self, text: str) -> None:
        """An event in the run (reset, re-initialise, divergence), as a rule line."""
        self._write([(text, True)])

    def restart(self) -> None:
        """A new model numbers its samples from 1 again."""
        self._last_serial = 0

    def _write(self, entries: list[tuple[str, bool]]) -> None:
        self._entries.extend(entries)
        width = self._width()
        added = 0
        for entry in entries:
            lines = wrap(entry, width)
            self._lines.extend(lines)
            added += len(lines)
        if self.scroll_y < self.max_scroll_y:  # the reader scrolled up: keep their place
            self.scroll_to(y=max(0, self.scroll_y - added), animate=False)
        self.refresh()

    def _width(self) -> int:
        return max(10, self.scrollable_content_region.width)

    # -- drawing ---------------------------------------------------------------------------

    def on_resize(self) -> None:
        width = self._width()
        if width != self._wrap_width:
            self._wrap_width = width
            self._lines.clear()
            for entry in self._entries:
                self._lines.extend(wrap(entry, width))
        self.virtual_size = Size(width, MAX_LINES)
        self.scroll_end(animate=False, immediate=True)

    def render_lines(self, crop: Region) -> list[Strip]:
        # the styles walk the DOM: look them up once per repaint, not once per line
        self._style = self.rich_style
        self._rule_style = self._style + self.get_component_rich_style("samples-pane--rule")
        self._render_width = self.scrollable_content_region.width
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width, style = self._render_width, self._style
        index = int(self.scroll_y) + y - (MAX_LINES - len(self._lines))
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, style)
        text, is_rule = self._lines[index]
        return Strip([Segment(text, self._rule_style if is_rule else style)]).crop_extend(
            0, width, style)


def header(s: Sample) -> str:
    how = "greedy" if s.greedy else f"T {s.temperature:g}"
    what = "sample now" if s.on_demand else "sample"
    return f"iter {s.iteration} · {what} · {how}"


def wrap(entry: tuple[str, bool], width: int) -> list[tuple[str, bool]]:
    """One entry as display lines: a rule padded to the width, or text chopped at it."""
    text, is_rule = entry
    text = visible(text.expandtabs())  # controls as U+FFFD, never sent raw (engine/text.py)
    if is_rule:
        head = f"── {text} "
        if len(head) > width:
            return [(line, True) for line in chop_cells(head, width)]
        return [(head + "─" * (width - len(head)), True)]
    return [(line, False) for line in chop_cells(text, width)] or [("", False)]
