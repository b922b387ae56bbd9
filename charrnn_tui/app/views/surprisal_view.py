"""The surprisal view (`u`): the last training window, each character coloured by its loss.

The loss at position t is -log p(target_t), in nats, from the probabilities the model gave
while training on that window. ←/→ select a position; for it, the top-k next-character
probabilities as bars, and beside each the same distribution at the sampling temperature T
(p^(1/T), renormalised), which is what a sample would draw from.
"""

from __future__ import annotations

import math

import numpy as np
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding

from charrnn_tui.link.monitor import WINDOW, Snapshot
from engine.units import bits

from ..widgets.segment_rows import SegmentRows, heat, printable
from ..widgets.text_lines import TextLines, line
from .view_screen import ViewScreen

TOP_K = 8
BAR = 24  # columns of the longest bar
COLUMNS = 5  # positions per row of the loss table
EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(share: float, width: int = BAR) -> str:
    """A horizontal bar of `share` * `width` columns, in eighths."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + (EIGHTHS[part] if part else "")).ljust(width)


def tempered(p: np.ndarray, temperature: float) -> np.ndarray:
    """p^(1/T) renormalised: the distribution a sample at temperature T draws from."""
    logp = np.log(np.maximum(p, 1e-300)) / temperature
    logp -= logp.max()
    q = np.exp(logp)
    return q / q.sum()


class SurprisalView(ViewScreen):
    """The window coloured by loss, a table of per-position losses, and top-k for one."""

    NAME = "surprisal"
    NEEDS = frozenset({WINDOW})
    BINDINGS = [
        Binding("left", "move(-1)", "◀ pos", id="position-left"),
        Binding("right", "move(1)", "pos ▶", id="position-right"),
    ]

    def __init__(self, vocab: str, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.selected = -1  # position in the window; -1 follows the last one
        self.losses: tuple[float, ...] = ()  # the window's losses on screen

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.chars = SegmentRows(classes="view-grid")
        self.table = TextLines(classes="view-table")
        self.detail = TextLines(classes="view-detail")
        yield self.head
        yield self.chars
        yield self.table
        yield self.detail

    def action_move(self, delta: int) -> None:
        snap = self.snapshot
        if snap is None or snap.window is None:
            return
        T = len(snap.window.inputs)
        at = T - 1 if self.selected < 0 else min(self.selected, T - 1)
        at = (at + delta) % T
        self.selected = -1 if at == T - 1 else at
        self.show(snap)

    def show(self, snap: Snapshot) -> None:
        win = snap.window
        if win is None:
            self.head.set_lines([line(("no window yet: train or step (n) once", "dim"))])
            return
        vocab = self.vocab
        losses = win.losses.tolist()
        self.losses = tuple(losses)
        T = len(losses)
        at = T - 1 if self.selected < 0 else min(self.selected, T - 1)
        worst = math.log(max(2, len(vocab)))  # uniform guessing: the top of the scale
        mean = sum(losses) / T
        self.head.set_lines([
            line((f"window of iter {win.iteration}", "bold"),
                 ": each target coloured by its loss −log p (green sure → red surprised; "
                 f"red = ln V = {worst:.2f} nats)"),
            line("mean ", (f"{mean:.3f}", "bold"), " nats = ", (f"{bits(mean):.3f}",
                                                                "bold"),
                 " bits/char   ", ("←/→ select a position", "dim")),
        ])
        chars = [Segment("target ")]
        marks = [Segment("       ")]
        for t, ix in enumerate(win.targets):
            chars.append(Segment(printable(vocab[ix]), heat(losses[t] / worst)))
            marks.append(Segment("▲" if t == at else " "))
        inputs = [Segment("input  "), *(Segment(printable(vocab[ix])) for ix in win.inputs)]
        self.chars.set_rows([inputs, chars, marks])
        rows = []
        for r in range(0, T, COLUMNS):
            parts = []
            for t in range(r, min(T, r + COLUMNS)):
                cell = (f"{t:>2} {printable(vocab[win.inputs[t]])}→"
                        f"{printable(vocab[win.targets[t]])} {losses[t]:6.3f}  ")
                parts.append((cell, "accent" if t == at else ""))
            rows.append(line(*parts))
        self.table.set_lines(rows)
        self._detail(snap, at)

    def _detail(self, snap: Snapshot, at: int) -> None:
        win, vocab = snap.window, self.vocab
        p = win.probs[at]
        temperature = snap.config.temperature
        q = tempered(p, temperature)
        target = win.targets[at]
        top = np.argsort(-p, kind="stable")[:TOP_K].tolist()
        lines = [
            line((f"position {at}", "bold"), f": after {printable(vocab[win.inputs[at]])!r} the "
                 f"target was {printable(vocab[target])!r}, p = ",
                 (f"{p[target]:.4f}", "bold"), f", loss {win.losses[at]:.3f} nats"),
            line((f"top {len(top)} next characters", "bold"),
                 (f"   p (training)             at temperature {temperature:g}", "dim")),
        ]
        for ix in top:
            mark = "◀ target" if ix == target else ""
            lines.append(line(
                (f" {printable(vocab[ix])!r:>5} ", "accent" if ix == target else "bold"),
                (bar(float(p[ix])), "good"), f" {p[ix]:.3f}   ",
                (bar(float(q[ix]), BAR // 2), "warn"), f" {q[ix]:.3f}  ", (mark, "accent")))
        self.detail.set_lines(lines)
