"""The optimizer pane: per parameter, what the optimizer has accumulated and how far it steps.

For each parameter (min-char-rnn's Wxh, Whh, Why, bh, by; a network's l0.Wx ... Why, by):
the norm of the optimizer's memory (Adagrad's sum of squared gradients, RMSprop's cache,
Adam's second moment v, and Adam's first moment m beside it) and how fast it still grows, the
gradient norm of the last step (after clipping), the median effective step size (Adagrad:
lr/sqrt(mem + 1e-8)), and the share of gradient entries at the clip bound.
"""

from __future__ import annotations

import math

from charrnn_tui.link.monitor import Snapshot

from .text_lines import TextLines, line

ROW = "{:<3}{:>8}{:>8}{:>8}{:>9}{:>7}"  # min-char-rnn's five names fit in 3 characters
WIDE_ROW = "{:<6} {:>6} {:>6} {:>6} {:>6} {:>6}"  # a network's layer names ("l0.bhn")
TITLES = {"adagrad": "Adagrad", "rmsprop": "RMSprop", "adam": "Adam"}
LEGENDS = {"adagrad": "step=median lr/√(mem+1e-8) · growth/1k it",
           "rmsprop": "step=median lr/(√cache+1e-8) · growth/1k it",
           "adam": "step=median lr·|m̂|/(√v̂+1e-8) · growth/1k it"}
MAX_ROWS = 12  # parameters listed; a deep network's others are counted


def sig(v: float, width: int = 7) -> str:
    """Three significant digits in at most `width` (7 or 6) characters."""
    if not math.isfinite(v):
        return "—"
    a = abs(v)
    if a == 0:
        return "0"
    if 10.0 ** (4 - width) <= a < 10.0 ** (width - 2):
        return f"{v:.{max(0, 2 - math.floor(math.log10(a)))}f}"
    if width >= 7:
        return f"{v:.1e}"
    mantissa, exponent = f"{v:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"  # 1.5e-4, not 1.5e-04


def sig6(v: float) -> str:
    """The network table's columns: `sig` in at most 6 characters."""
    return sig(v, 6)


def percent(v: float, signed: bool = False) -> str:
    if not math.isfinite(v):
        return "—"
    if signed and abs(v) >= 10:  # early on the memory grows many-fold per 1000 iterations
        return f"×{1 + v:.0f}"
    return f"{100 * v:+.1f}%" if signed else f"{100 * v:.1f}%"


class OptimizerPane(TextLines):
    """A fixed-width table: a header, one row per parameter, the clipped share, a legend."""

    DEFAULT_CSS = """
    OptimizerPane {
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
        self.border_title = TITLES.get(st.optimizer, st.optimizer)
        adam = bool(st.moment_norm)  # Adam: its first moment takes the growth column
        narrow = max(map(len, st.param_names)) <= 3  # min-char-rnn's table, as it always was
        row, num = (ROW, sig) if narrow else (WIDE_ROW, sig6)
        second = "|m|" if adam else "growth"
        lines = [line((row.format("", st.memory_label, second, "|grad|", "step", "clip"),
                       "bold"))]
        seconds = ([sig6(m) for m in st.moment_norm] if adam
                   else [percent(g, signed=True) for g in snap.mem_trend])
        rows = zip(st.param_names, st.mem_norm, seconds, st.grad_norm, st.step_median,
                   st.clipped_by_param)
        for k, (name, m, second_cell, gn, step, c) in enumerate(rows):
            if k == MAX_ROWS:
                lines.append(line((f"… {len(st.param_names) - MAX_ROWS} more parameters", "dim")))
                break
            cells = (name, num(m), second_cell, num(gn), num(step), percent(c))
            lines.append(line((row.format(*cells), "warn" if c > 0 else "")))
        total = percent(st.clipped_fraction) if st.iteration else "—"
        cooling = [(f" (cooldown ×{st.lr_scale:.2f})", "dim")] if st.lr_scale < 1.0 else []
        lines.append(line(("clipped ", "dim"), (total, "warn" if st.clipped_fraction else "bold"),
                          (f" of entries at ±{snap.config.clip:g}", "dim"), ("  lr ", "dim"),
                          (f"{st.learning_rate:.3g}", "bold"), *cooling))
        lines.append(line((LEGENDS.get(st.optimizer, ""), "dim")))
        self.set_lines(lines)
