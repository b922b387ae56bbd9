"""A few lines of literal text in a handful of styles, drawn with the line API.

The base of the panes that redraw several times a second. A `Static` re-renders its `Content`
through wrapping and style parsing on every update (about 1 ms a line, measured); here a line
is a tuple of (text, style key) pairs turned straight into segments, the styles are resolved
once (until the CSS or theme changes), and nothing is redrawn unless a line changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from engine.text import visible

Line = tuple[tuple[str, str], ...]  # ((text, style key), ...); key "" is the widget's style
STYLE_KEYS = ("bold", "dim", "good", "warn", "bad", "accent")


def line(*parts: str | tuple[str, str]) -> Line:
    """Build a Line from strings (plain) and (text, style key) pairs."""
    return tuple((p, "") if isinstance(p, str) else p for p in parts)


class TextLines(Widget):
    """Shows `lines`; style keys map to the component classes `text-lines--<key>`."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"text-lines--{key}" for key in STYLE_KEYS}
    """
    The style key of a part of a line picks one of these (key "" is the widget's own style):

    | Class | Description |
    | :- | :- |
    | `text-lines--bold` | Numbers and headings. |
    | `text-lines--dim` | Units, hints and legends. |
    | `text-lines--good` | A pass, a falling loss, the running state. |
    | `text-lines--warn` | Something to watch: clipping, saturation, the paused state. |
    | `text-lines--bad` | A failure, a rising loss, divergence. |
    | `text-lines--accent` | A selection or a highlighted value. |
    """

    DEFAULT_CSS = """
    TextLines > .text-lines--bold {
        text-style: bold;
    }
    TextLines > .text-lines--dim {
        color: $text-muted;
    }
    TextLines > .text-lines--good {
        color: $text-success;
        text-style: bold;
    }
    TextLines > .text-lines--warn {
        color: $text-warning;
    }
    TextLines > .text-lines--bad {
        color: $text-error;
        text-style: bold;
    }
    TextLines > .text-lines--accent {
        color: $text-primary;
        text-style: bold;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._lines: tuple[Line, ...] = ()
        self._styles: dict[str, Style] | None = None

    @property
    def plain(self) -> str:
        """The text on screen, without styles."""
        return "\n".join("".join(text for text, _ in ln) for ln in self._lines)

    def set_lines(self, lines: Sequence[Line]) -> None:
        # literal text, and some of it from files (a corpus name, an error naming a path):
        # control characters never reach the terminal (engine/text.py)
        lines = tuple(tuple((visible(text), key) for text, key in ln) for ln in lines)
        if lines != self._lines:
            grew = len(lines) != len(self._lines)
            self._lines = lines
            self.refresh(layout=grew)  # a new line count matters only to `height: auto`

    def get_content_height(self, container, viewport, width: int) -> int:
        return len(self._lines)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = None

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._styles is None:
            base = self.rich_style
            self._styles = {"": base}
            for key in STYLE_KEYS:
                self._styles[key] = base + self.get_component_rich_style(f"text-lines--{key}")
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        styles = self._styles or {"": self.rich_style}
        base = styles[""]
        width = self.size.width
        if y >= len(self._lines):
            return Strip.blank(width, base)
        segments = [Segment(text, styles.get(key, base)) for text, key in self._lines[y]]
        return Strip(segments).crop_extend(0, width, base)
