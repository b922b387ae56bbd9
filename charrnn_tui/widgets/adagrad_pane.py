"""The Adagrad pane: per parameter, what the optimizer has accumulated and how far it steps.

For each of Wxh, Whh, Why, bh, by: the norm of the memory (sum of squared gradients) and how
fast it still grows, the gradient norm of the last step (after clipping), the median effective
step size lr/sqrt(mem + 1e-8), and the share of gradient entries at the clip bound.
"""

from __future__ import annotations

import math

from engine import PARAM_NAMES

from ..monitor import Snapshot
from .text_lines import TextLines, line

ROW = "{:<3}{:>8}{:>8}{:>8}{:>9}{:>7}"
HEADER = ROW.format("", "|mem|", "growth", "|grad|", "step", "clip")


def sig(v: float) -> str:
    """Three significant digits in at most 7 characters."""
    if not math.isfinite(v):
        return "—"
    a = abs(v)
    if a == 0:
        return "0"
    if 1e-3 <= a < 1e5:
        return f"{v:.{max(0, 2 - math.floor(math.log10(a)))}f}"
    return f"{v:.1e}"


def percent(v: float, signed: bool = False) -> str:
    if not math.isfinite(v):
        return "—"
    if signed and abs(v) >= 10:  # early on the memory grows many-fold per 1000 iterations
        return f"×{1 + v:.0f}"
    return f"{100 * v:+.1f}%" if signed else f"{100 * v:.1f}%"


class AdagradPane(TextLines):
    """A fixed-width table: a header, one row per parameter, the clipped share, a legend."""

    DEFAULT_CSS = """
    AdagradPane {
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-title-style: bold;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Adagrad"

    def show(self, snap: Snapshot) -> None:
        st = snap.stats
        lines = [line((HEADER, "bold"))]
        for name, m, g, gn, s, c in zip(PARAM_NAMES, st.mem_norm, snap.mem_trend, st.grad_norm,
                                        st.step_median, st.clipped_by_param):
            row = ROW.format(name, sig(m), percent(g, signed=True), sig(gn), sig(s),
                             percent(c))
            lines.append(line((row, "warn" if c > 0 else "")))
        total = percent(st.clipped_fraction) if st.iteration else "—"
        lines.append(line(("clipped ", "dim"), (total, "warn" if st.clipped_fraction else "bold"),
                          (f" of entries at ±{snap.config.clip:g}", "dim"), ("  lr ", "dim"),
                          (f"{st.learning_rate:g}", "bold")))
        lines.append(line(("step=median lr/√(mem+1e-8) · growth/1k it", "dim")))
        self.set_lines(lines)
