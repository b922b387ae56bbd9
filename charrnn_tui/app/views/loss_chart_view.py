"""The loss chart (`l`): the whole run's loss with axes, train against validation.

x is iterations or wall time (`x`), y is bits per character, linear or log (`L`); `[` and `]`
change a centred moving average over the history points; `e` writes the history to a CSV
file in the log directory (or the working directory if that cannot be made).

The chart is drawn here (`widgets/loss_plot.py`), not with plotext: the runtime dependencies are
numpy, textual, rich and platformdirs only, and for a 500-point series at 100x30 plotext 5.3's
`build()` alone took ~14 ms of CPU per frame against ~0.7 ms for `chart_rows` (measured).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding

from charrnn_tui.link.monitor import SERIES, Snapshot
from charrnn_tui.paths import user_paths
from engine.units import LN2, bits

from ..widgets.loss_plot import LossPlot, Series
from ..widgets.status_line import compact_count
from ..widgets.text_lines import TextLines, line
from .plot_view import PlotView

SMOOTHING = (1, 3, 9, 27, 81)  # moving-average widths, in history points


def smooth(values: np.ndarray, width: int) -> np.ndarray:
    """A centred moving average; the ends average over what they have."""
    if width <= 1 or values.size == 0:
        return values
    c = np.concatenate(([0.0], np.cumsum(values)))
    i = np.arange(values.size)
    lo = np.maximum(0, i - width // 2)
    hi = np.minimum(values.size, i + width // 2 + 1)
    return (c[hi] - c[lo]) / (hi - lo)


def duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}"
    return f"{s // 3600}h{s % 3600 // 60:02d}"


@dataclass(frozen=True)
class HistoryRow:
    """One point of the chart, and one row of its CSV export."""

    series: str  # "train" or "val"
    iteration: int
    wall_seconds: float  # since the monitor started (nan: not known)
    nats_per_char: float


def history_rows(snap: Snapshot) -> list[HistoryRow]:
    """A HistoryRow for every point of the chart.

    A training point k covers `history_stride` iterations; its iteration is where that bucket
    ends (iterations completed), its time the mean wall time of its steps. Validation points
    are at the iteration after which they were evaluated, their time interpolated.
    """
    stride, start = snap.history_stride, snap.history_start
    n = snap.stats.iteration
    train = []
    times = snap.history_times
    for k, v in enumerate(snap.loss_history):
        t = times[k] if k < len(times) else math.nan
        train.append(HistoryRow("train", min(start + (k + 1) * stride, n), t, v))
    its = np.array([r.iteration for r in train], dtype=float)
    ts = np.array([r.wall_seconds for r in train], dtype=float)
    val = []
    for it, val_bits in snap.val_history:
        t = float(np.interp(it + 1, its, ts)) if its.size else math.nan
        val.append(HistoryRow("val", it + 1, t, val_bits * LN2))
    return train + val


class LossChartView(PlotView):
    """The chart, a line of settings and a hint; the keys change how the history is drawn."""

    DEFAULT_CSS = """
    #loss-plot {
        height: 1fr;
        min-height: 8;
        padding: 0 1;
    }
    """

    NAME = "chart"
    NEEDS = frozenset({SERIES})
    BINDINGS = [
        Binding("x", "toggle_x", "x: it/time", id="chart-x"),
        Binding("e", "export", "Export CSV", id="chart-export"),
    ]

    SMOOTHING_LEVELS = SMOOTHING

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.wall_time = False
        self.exported: Path | None = None  # the last CSV written (e)

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.plot = LossPlot(id="loss-plot")
        yield self.head
        yield self.plot

    def action_toggle_x(self) -> None:
        self.wall_time = not self.wall_time
        self._redraw()

    def redraw(self) -> None:
        if self.snapshot is not None:
            self.show(self.snapshot)

    def show(self, snap: Snapshot) -> None:
        key = (len(snap.loss_history), snap.history_stride, len(snap.val_history),
               snap.stats.iteration)
        settings = (self.wall_time, self.log_y, self.smoothing)
        if self._drawn == (key, settings):
            return
        self._drawn = (key, settings)
        rows = history_rows(snap)
        train = [r for r in rows if r.series == "train"]
        val = [r for r in rows if r.series == "val"]
        width = SMOOTHING[self.smoothing]

        def xs(points: list[HistoryRow]) -> np.ndarray:
            return np.array([r.wall_seconds if self.wall_time else r.iteration for r in points],
                            dtype=float)

        series = [Series(xs(train), smooth(bits(np.array([r.nats_per_char for r in train])),
                                           width), "train")]
        if val:
            series.append(Series(xs(val), bits(np.array([r.nats_per_char for r in val])),
                                 "val"))
        self.plot.plot(series, self.log_y,
                       duration if self.wall_time else (lambda v: compact_count(int(v))))
        if snap.config.val_fraction:
            last = f"{bits(val[-1].nats_per_char):.3f}" if val else "— (first at iter 1)"
            val_text = line(("━ validation", "warn"), f" every {snap.config.eval_every} it, "
                            f"last {last} bits/char")
        else:
            val_text = line(("validation off: set 'val fraction' in Controls or run with "
                             "--val-fraction F", "dim"))
        last_train = f"{bits(train[-1].nats_per_char):.3f}" if train else "—"
        self.head.set_lines([
            line(("loss, bits/char", "bold"), " vs ",
                 ("wall time" if self.wall_time else "iterations", "bold"),
                 f" · y {'log' if self.log_y else 'linear'} · smoothing {width} pt",
                 (f" · {len(train)} points of {snap.history_stride} it", "dim")),
            line(("━ train", "accent"), f" (smoothed per-char loss) last {last_train}   "),
            val_text,
        ])

    def action_export(self) -> None:
        snap = self.snapshot
        if snap is None:
            return
        name = f"loss-{_safe(snap.corpus_name)}-{snap.stats.iteration}.csv"
        for folder in (user_paths().logs, Path.cwd()):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / name
                write_csv(path, history_rows(snap))
            except OSError as exc:
                error = exc
                continue
            self.exported = path
            self.notify(f"{len(snap.loss_history)} points to {path}", title="Exported")
            return
        self.notify(f"cannot write the CSV: {error}", title="Export failed", severity="error")


def write_csv(path: Path, rows: list[HistoryRow]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["series", "iteration", "wall_seconds", "nats_per_char", "bits_per_char"])
        for r in rows:
            out.writerow([r.series, r.iteration, repr(r.wall_seconds), repr(r.nats_per_char),
                          repr(bits(r.nats_per_char))])


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)[:60] or "corpus"


__all__ = ["HistoryRow", "LossChartView", "history_rows", "smooth", "write_csv"]
