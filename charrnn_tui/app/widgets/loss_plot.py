"""A line chart in braille dots with labelled axes, drawn with the line API.

Each cell holds 2x4 dots. A series is sampled at every dot column (linear interpolation between
its points) and each column is joined to the previous one by a vertical run of dots, so steep
drops stay connected; points that share a column also mark their min..max. Everything is done
with numpy once per new frame; `render_line` only returns prepared strips.

For comparing runs, series may use the run colours (`run-0` .. `run-5`) and the suffix
` faint` (a raw series drawn dim, under its smoothing; its outliers do not set the y range),
a series may be dashed (a run's validation, in its colour), and `plot` takes a legend: a row
of (label, style) pairs drawn over the chart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

Y_LABEL = 8  # columns for the y tick labels
Y_TICKS = 5
X_TICKS = 5
# dot (row, column) in a cell -> braille bit
_BITS = np.array([[0x01, 0x08], [0x02, 0x10], [0x04, 0x20], [0x40, 0x80]], dtype=np.int64)


RUN_COLOURS = 6  # run-0 .. run-5, then they repeat
DASH = 3  # dot columns per dash (and per gap) of a dashed series
FAINT = " faint"  # a style key's suffix: the same colour, dimmed


@dataclass(frozen=True)
class Series:
    xs: np.ndarray
    ys: np.ndarray
    style: str  # component class suffix ("train", "val", "run-N"), maybe + FAINT
    dashed: bool = False  # drawn in dashes (a run's validation beside its training line)


def run_style(i: int) -> str:
    return f"run-{i % RUN_COLOURS}"


def dots_of(xs: np.ndarray, ys: np.ndarray, x_range: tuple[float, float],
            y_range: tuple[float, float], width: int, height: int) -> np.ndarray:
    """A (4*height, 2*width) boolean grid of the polyline through (xs, ys); row 0 on top."""
    dots = np.zeros((4 * height, 2 * width), dtype=bool)
    if xs.size == 0 or width <= 0 or height <= 0:
        return dots
    x0, x1 = x_range
    y0, y1 = y_range
    dw, dh = 2 * width, 4 * height
    px = np.clip(((xs - x0) / (x1 - x0 or 1.0) * (dw - 1)).round().astype(np.int64), 0, dw - 1)
    py = np.clip(((y1 - ys) / (y1 - y0 or 1.0) * (dh - 1)).round().astype(np.int64), 0, dh - 1)
    if xs.size == 1:
        dots[py[0], px[0]] = True
        return dots
    cols = np.arange(px[0], px[-1] + 1)
    # the line at each dot column, then the min/max of the points falling in each column
    line = np.interp(cols, px, py).round().astype(np.int64)
    low, high = line.copy(), line.copy()
    np.minimum.at(low, px - px[0], py)
    np.maximum.at(high, px - px[0], py)
    # join each column to the previous one
    prev = np.concatenate(([line[0]], line[:-1]))
    low, high = np.minimum(low, prev), np.maximum(high, prev)
    rows = np.arange(dh)[:, None]
    dots[:, cols] = (rows >= low[None, :]) & (rows <= high[None, :])
    return dots


def braille(dots: np.ndarray) -> np.ndarray:
    """Pack a (4h, 2w) grid into (h, w) braille code points (0 where a cell is empty)."""
    h, w = dots.shape[0] // 4, dots.shape[1] // 2
    d = dots.view(np.uint8)
    codes = np.zeros((h, w), dtype=np.uint8)
    for (dy, dx), bit in np.ndenumerate(_BITS):  # eight strided slices, one per dot
        codes |= d[dy:4 * h:4, dx:2 * w:2] * np.uint8(bit)
    return codes.astype(np.int64)


def ticks(low: float, high: float, count: int) -> list[float]:
    if count < 2 or high == low:
        return [low]
    return [low + (high - low) * i / (count - 1) for i in range(count)]


def short(v: float) -> str:
    """A tick label of at most 7 characters."""
    if not math.isfinite(v):
        return "—"
    a = abs(v)
    if a == 0:
        return "0"
    if a >= 1e5 or a < 1e-2:
        return f"{v:.1e}"
    return f"{v:.{max(0, 2 - math.floor(math.log10(a)))}f}"


class LossPlot(Widget):
    """Axes, tick labels and up to two series; `plot` redraws, `render_line` only reads."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"loss-plot--train", "loss-plot--val",
                                             "loss-plot--axis",
                                             *(f"loss-plot--run-{i}" for i in range(RUN_COLOURS))}
    """
    A series' `style` names its class (with ` faint`: the same, dimmed):

    | Class | Description |
    | :- | :- |
    | `loss-plot--train` | The training loss line. |
    | `loss-plot--val` | The validation loss line (drawn over the training line). |
    | `loss-plot--axis` | Axes, ticks and their labels. |
    | `loss-plot--run-0` .. `-5` | The runs of an overlay, one colour each. |
    """

    DEFAULT_CSS = """
    LossPlot > .loss-plot--train {
        color: $primary;
    }
    LossPlot > .loss-plot--val {
        color: $warning;
    }
    LossPlot > .loss-plot--axis {
        color: $text-muted;
    }
    LossPlot > .loss-plot--run-0 { color: $primary; }
    LossPlot > .loss-plot--run-1 { color: $warning; }
    LossPlot > .loss-plot--run-2 { color: $success; }
    LossPlot > .loss-plot--run-3 { color: $error; }
    LossPlot > .loss-plot--run-4 { color: $accent; }
    LossPlot > .loss-plot--run-5 { color: $secondary; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._args: tuple | None = None
        self._rows: list[list[tuple[str, str]]] = []
        self._styles: dict[str, Style] = {}

    def plot(self, series: Sequence[Series], log_y: bool = False,
             x_label: Callable[[float], str] = short,
             legend: Sequence[tuple[str, str]] = ()) -> None:
        self._args = (tuple(series), log_y, x_label, tuple(legend))
        self._draw()

    @property
    def series(self) -> tuple[Series, ...]:
        """What is drawn (for tests)."""
        return () if self._args is None else self._args[0]

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._args is None:
            return
        series, log_y, x_label, legend = self._args
        self._rows = chart_rows(series, self.size.width, self.size.height, log_y, x_label,
                                legend)
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}

    def render_lines(self, crop: Region) -> list[Strip]:
        if not self._styles:  # resolved once, until the CSS or theme changes
            base = self.rich_style
            keys = ("train", "val", "axis", *(run_style(i) for i in range(RUN_COLOURS)))
            self._styles = {"": base, **{k: base + self.get_component_rich_style(
                f"loss-plot--{k}") for k in keys}}
            faint = Style(dim=True)
            self._styles.update({k + FAINT: self._styles[k] + faint for k in keys})
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        styles = self._styles or {"": self.rich_style}
        base = styles[""]
        width = self.size.width
        if y >= len(self._rows):
            return Strip.blank(width, base)
        return Strip([Segment(t, styles.get(k, base)) for t, k in self._rows[y]]
                     ).crop_extend(0, width, base)


def legend_rows(legend: Sequence[tuple[str, str]], width: int) -> list[list[tuple[str, str]]]:
    """`━ label` entries in their styles, as many to a row as fit in `width`."""
    rows: list[list[tuple[str, str]]] = []
    used = width
    for label, style in legend:
        text = f"━ {label}"[:max(1, width - Y_LABEL - 1)]
        if used + len(text) + 3 > width:
            rows.append([(" " * Y_LABEL + " ", "axis")])
            used = Y_LABEL + 1
        rows[-1].append((text + "   ", style))
        used += len(text) + 3
    return rows


def _central(ys: np.ndarray) -> np.ndarray:
    """The 2nd and 98th percentiles (nearest rank) of `ys`, or nothing."""
    if ys.size == 0:
        return ys
    q = np.sort(ys)
    return q[[int(0.02 * (q.size - 1)), int(0.98 * (q.size - 1))]]


def chart_rows(series: Sequence[Series], width: int, height: int, log_y: bool,
               x_label: Callable[[float], str],
               legend: Sequence[tuple[str, str]] = ()) -> list[list[tuple[str, str]]]:
    """The chart as rows of (text, style key) runs: the legend, plot rows, the x axis, its
    labels."""
    top = legend_rows(legend, width) if legend else []
    if top and height - len(top) < 6:
        top = []  # too small: the chart matters more
    pw, ph = width - Y_LABEL - 1, height - 2 - len(top)
    if pw < 4 or ph < 2:
        return [[("(too small for a chart)", "axis")]]
    clean, dashed = [], []
    for s in series:
        keep = np.isfinite(s.ys) & np.isfinite(s.xs) & ((s.ys > 0) if log_y else True)
        ys = np.log10(s.ys[keep]) if log_y else s.ys[keep]
        clean.append((s.xs[keep], ys, s.style))
        dashed.append(s.dashed)
    all_x = np.concatenate([c[0] for c in clean]) if clean else np.empty(0)
    # a faint (raw) series sets the y range by its 2nd-98th percentiles only: one noisy window
    # must not flatten the curves drawn over it (its spikes run to the edge)
    all_y = np.concatenate([_central(ys) if style.endswith(FAINT) else ys
                            for _, ys, style in clean]) if clean else np.empty(0)
    if all_x.size == 0:
        return [[("no data yet", "axis")]]
    x_range = (float(all_x.min()), float(all_x.max()))
    y_lo, y_hi = float(all_y.min()), float(all_y.max())
    pad = (y_hi - y_lo) * 0.05 or 0.5
    y_range = (y_lo - pad, y_hi + pad)
    codes = np.zeros((ph, pw), dtype=np.int64)
    owner = np.zeros((ph, pw), dtype=np.int64)  # 1 + index of the series drawn last; 0 none
    gaps = (np.arange(2 * pw) // DASH) % 2 == 1  # the dot columns a dashed line leaves out
    for k, (xs, ys, _) in enumerate(clean):  # later series (validation) over earlier ones
        dots = dots_of(xs, ys, x_range, y_range, pw, ph)
        if dashed[k]:
            dots[:, gaps] = False
        c = braille(dots)
        owner[c > 0] = k + 1
        codes |= c
    keys = ["", *(style for _, _, style in clean)]
    cells = np.where(codes > 0, 0x2800 + codes, 0x20).astype(np.uint32)
    # y tick labels at evenly spaced rows
    labels = {}
    for i, v in enumerate(ticks(y_range[1], y_range[0], Y_TICKS)):
        row = round(i * (ph - 1) / (Y_TICKS - 1))
        labels[row] = short(10 ** v if log_y else v)
    rows: list[list[tuple[str, str]]] = list(top)
    for r in range(ph):
        runs: list[tuple[str, str]] = [(labels.get(r, "").rjust(Y_LABEL - 1) + " ", "axis"),
                                       ("┤" if r in labels else "│", "axis")]
        text = cells[r].tobytes().decode("utf-32-le")  # one string per row, split by owner
        who = owner[r]
        cuts = [0, *(np.flatnonzero(who[1:] != who[:-1]) + 1).tolist(), pw]
        runs.extend((text[a:b], keys[who[a]]) for a, b in zip(cuts, cuts[1:]))
        rows.append(runs)
    # the x axis: tick marks and their labels
    axis = ["─"] * pw
    label_line = [" "] * (pw + 1)
    for i, v in enumerate(ticks(*x_range, X_TICKS)):
        col = round(i * (pw - 1) / (X_TICKS - 1))
        axis[col] = "┬"
        text = x_label(v)
        start = max(0, min(pw + 1 - len(text), col + 1 - len(text) // 2))
        label_line[start:start + len(text)] = text
    rows.append([(" " * Y_LABEL + "└" + "".join(axis), "axis")])
    rows.append([(" " * Y_LABEL + "".join(label_line), "axis")])
    return rows
