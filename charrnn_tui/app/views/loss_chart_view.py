"""The loss chart (`l`): the whole run's loss with axes, train against validation.

Training and validation in bits per character on one axis: the loss readout (the debiased
average the Loss pane shows) over the window loss it averages, drawn dim beneath, and the
validation passes. x is iterations or wall time (`x`), y linear or log (`L`); `[` and `]`
add a centred moving average over the readout's history points; `e` writes the history to a
CSV file in the log directory (or the working directory if that cannot be made).

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
from engine.schedule import MAX_VALIDATION_INTERVAL, MIN_VALIDATION_INTERVAL, VALIDATION_SHARE
from engine.units import LN2, bits

from ..widgets.loss_pane import span_text
from ..widgets.loss_plot import FAINT, LossPlot, Series
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

    series: str  # "train" (the readout), "window" (the window loss it averages) or "val"
    iteration: int
    wall_seconds: float  # since the monitor started (nan: not known)
    nats_per_char: float


def history_rows(snap: Snapshot) -> list[HistoryRow]:
    """A HistoryRow for every point of the chart.

    A training point k covers `history_stride` iterations; its iteration is where that bucket
    ends (iterations completed), its time the mean wall time of its steps, its value the mean
    of the readout ("train") or of the window loss ("window") over them. Validation points
    are at the iteration after which they were evaluated, their time interpolated.
    """
    stride, start = snap.history_stride, snap.history_start
    n = snap.stats.iteration
    train, window = [], []
    times = snap.history_times
    for k, v in enumerate(snap.loss_history):
        t = times[k] if k < len(times) else math.nan
        it = min(start + (k + 1) * stride, n)
        train.append(HistoryRow("train", it, t, v))
        if k < len(snap.window_history):
            window.append(HistoryRow("window", it, t, snap.window_history[k]))
    its = np.array([r.iteration for r in train], dtype=float)
    ts = np.array([r.wall_seconds for r in train], dtype=float)
    val = []
    for it, val_bits in snap.val_history:
        t = float(np.interp(it + 1, its, ts)) if its.size else math.nan
        val.append(HistoryRow("val", it + 1, t, val_bits * LN2))
    return train + window + val


def schedule_text(eval_every: int) -> str:
    """How often validation runs, as the chart says it."""
    if eval_every:
        return f"every {eval_every} it"
    return (f"every {MIN_VALIDATION_INTERVAL:g} s to {MAX_VALIDATION_INTERVAL / 60:g} min of "
            f"training (at most {100 * VALIDATION_SHARE:g}% of it)")


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
        data = (len(snap.loss_history), snap.history_stride, len(snap.val_history),
                snap.stats.iteration)
        if not self.due((self.wall_time, self.log_y, self.smoothing), data, snap):
            return
        rows = history_rows(snap)
        by_series: dict[str, list[HistoryRow]] = {"train": [], "window": [], "val": []}
        for r in rows:
            by_series[r.series].append(r)
        train, window, val = by_series["train"], by_series["window"], by_series["val"]
        width = SMOOTHING[self.smoothing]

        def xs(points: list[HistoryRow]) -> np.ndarray:
            return np.array([r.wall_seconds if self.wall_time else r.iteration for r in points],
                            dtype=float)

        def ys(points: list[HistoryRow]) -> np.ndarray:
            return bits(np.array([r.nats_per_char for r in points], dtype=float))

        # one axis: the window loss dim, the readout over it, validation over both
        series = [Series(xs(window), ys(window), "train" + FAINT),
                  Series(xs(train), smooth(ys(train), width), "train")]
        if val:
            series.append(Series(xs(val), ys(val), "val"))
        self.plot.plot(series, self.log_y,
                       duration if self.wall_time else (lambda v: compact_count(int(v))))
        if snap.config.val_fraction:
            last = f"{bits(val[-1].nats_per_char):.3f}" if val else "— (first at the next step)"
            val_text = line(("━ validation", "warn"), f" {schedule_text(snap.config.eval_every)}"
                            f", last {last} bits/char")
        else:
            val_text = line(("validation off: set 'val fraction' in Controls or run with "
                             "--val-fraction F", "dim"))
        last_train = f"{bits(snap.loss_per_char):.3f}" if train else "—"
        self.head.set_lines([
            line(("loss, bits/char", "bold"), " vs ",
                 ("wall time" if self.wall_time else "iterations", "bold"),
                 f" · y {'log' if self.log_y else 'linear'} · smoothing {width} pt",
                 (f" · {len(train)} points of {snap.history_stride} it", "dim")),
            line(("━ train", "accent"), f" {span_text(snap.average_chars)}, last {last_train}",
                 ("; the window loss dim beneath", "dim")),
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
