"""The Loss pane: the loss readout over the whole run as a sparkline, and its current value.

The readout is the debiased average of the window loss per character (the monitor's
`loss_per_char`, engine/units.py), in bits per character: the same number the status line,
the loss chart and the runs overlay show, with the latest validation loss beside it, what it
averages over, and the last window's own loss dim beneath. The per-window number min-char-rnn
prints grows with seq_length and lags by its 1000-step smoothing; headless mode keeps it.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Vertical

from charrnn_tui.link.monitor import TREND_CHARS, Snapshot
from engine.units import bits

from .loss_sparkline import LossSparkline
from .text_lines import TextLines, line

FLAT = 0.01  # bits/char over the trend's span: a smaller change reads as flat


def trend_text(change_nats: float, chars: int) -> tuple[str, str]:
    """An arrow and how much the readout moved over the last `chars` characters."""
    if math.isnan(change_nats):
        return f"· trend after {amount(TREND_CHARS // 10)} chars", "dim"
    change = bits(change_nats)
    over = f"over last {amount(chars)} chars"
    if abs(change) < FLAT:
        return f"≈ {change:+.3f} {over}", "warn"
    if change < 0:
        return f"▼ {-change:.3f} {over}", "good"
    return f"▲ {change:.3f} {over}", "bad"


def val_text(snap: Snapshot) -> tuple[tuple[str, str], ...]:
    """The latest validation bits/char, beside the training readout (off: no held-out text)."""
    if not snap.config.val_fraction:
        return (("  val off", "dim"),)
    if snap.stats.val_bits is None:
        return (("  val —", "dim"),)
    return (("  val ", "dim"), (f"{snap.stats.val_bits:.3f}", "accent"))


def amount(chars: int) -> str:
    """A count of characters in a few digits: 25k, 100k, 1.5M."""
    return f"{chars / 1e6:.3g}M" if chars >= 1_000_000 else f"{chars / 1e3:.3g}k"


def span_text(chars: int) -> str:
    """What the readout averages over, e.g. "avg of last ~25k chars"."""
    return f"avg of last ~{amount(chars)} chars"


class LossPane(Vertical):
    """The readout's curve over a few lines of numbers; each redrawn only when it changed."""

    DEFAULT_CSS = """
    LossPane {
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-title-style: bold;
        padding: 0 1;
    }
    #loss-curve {
        height: 1fr;
        min-height: 1;
        color: $primary;
    }
    #loss-text {
        height: 4;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Loss"
        self._curve = LossSparkline(id="loss-curve")
        self._text = TextLines(id="loss-text")
        self._shown_points: tuple[int, int] = (-1, -1)

    @property
    def plain(self) -> str:
        """The numbers under the curve as on screen, without styles."""
        return self._text.plain

    def compose(self) -> ComposeResult:
        yield self._curve
        yield self._text

    def show(self, snap: Snapshot) -> None:
        points = snap.loss_history
        key = (len(points), snap.history_stride)
        if key != self._shown_points:  # a new point since it was drawn
            self._shown_points = key
            self._curve.set_points(points)
        pc, window = snap.loss_per_char, snap.window_per_char
        trend, trend_style = trend_text(snap.loss_trend, snap.trend_chars)
        if math.isfinite(pc):
            readout = line((f"{bits(pc):.3f}", "bold"), " bits/char", *val_text(snap))
            # the raw number the average is made of, dim beneath it
            raw = line((f"last window {bits(window):.3f}", "dim"))
        else:
            readout, raw = line(("— bits/char", "bold"), *val_text(snap)), line()
        span = line((span_text(snap.average_chars), "dim"))
        self._text.set_lines([readout, span, raw, line((trend, trend_style))])
