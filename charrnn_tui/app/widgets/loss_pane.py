"""The Loss pane: a sparkline of the smoothed loss over the whole run, and its current value.

The loss is shown per window (what min-char-rnn prints), per character in nats, and in bits per
character: the per-window number alone grows with seq_length and hides progress.
"""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.containers import Vertical

from charrnn_tui.link.monitor import Snapshot
from engine.units import bits

from .loss_sparkline import LossSparkline
from .status_line import compact_count
from .text_lines import TextLines, line

FLAT = 0.005  # bits/char per 1000 iterations: below this the trend reads as flat


def trend_text(per_k_nats: float) -> tuple[str, str]:
    """An arrow and a number for the change of the per-char loss per 1000 iterations."""
    if math.isnan(per_k_nats):
        return "· trend after 100 iterations", "dim"
    per_k_bits = bits(per_k_nats)
    if abs(per_k_bits) < FLAT:
        return f"≈ flat ({per_k_bits:+.3f} bits/char per 1k it)", "warn"
    if per_k_bits < 0:
        return f"▼ {-per_k_bits:.3f} bits/char per 1k it", "good"
    return f"▲ {per_k_bits:.3f} bits/char per 1k it", "bad"


def val_text(snap: Snapshot) -> tuple[tuple[str, str], ...]:
    """The latest validation bits/char; or, with no split, how to turn validation on."""
    if not snap.config.val_fraction:
        return (("  val off: set val fraction", "dim"),)
    if snap.stats.val_bits is None:
        return (("  val —", "dim"),)
    return (("  val ", "dim"), (f"{snap.stats.val_bits:.3f}", "accent"))


class LossPane(Vertical):
    """The loss curve over a few lines of numbers; each redrawn only when it changed."""

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
        T = snap.config.seq_length
        pc = snap.loss_per_char
        trend, trend_style = trend_text(snap.loss_trend)
        curve = line("")
        if points:
            curve = line((f"{bits(points[0]):.2f}→{bits(points[-1]):.2f}", "bold"),
                         (f" bits/char, {compact_count(len(points) * snap.history_stride)} it",
                          "dim"))
        self._text.set_lines([
            curve,
            # per window tracks seq_length edits, unlike the engine's smooth_loss
            line((f"{pc * T:.2f}", "bold"), f" nats per {T}-char window"),
            line((f"{pc:.3f}", "bold"), " nats = ", (f"{bits(pc):.3f}", "bold"), " bits/char",
                 *val_text(snap)),
            line((trend, trend_style)),
        ])
