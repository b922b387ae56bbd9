"""The hidden-state view (`h`): the carried hidden vector as a heatmap, and the last window's.

The grid is ceil(sqrt(H)) cells wide (10x10 for hidden 100), unit i at row i // width, column
i % width, coloured from blue (-1) through dark (0) to red (+1). Below it, one row per timestep
of the last training window (labelled by the input character) and one column per unit: how
the state moved while the window was read. Saturated units (|h| > 0.99) sit where tanh's
gradient vanishes; their share is the number to watch.
"""

from __future__ import annotations

import math
import time

import numpy as np
from rich.segment import Segment
from textual.app import ComposeResult

from charrnn_tui.link.monitor import WINDOW, Snapshot, State

from ..widgets.segment_rows import SegmentRows, cells, printable
from ..widgets.text_lines import TextLines, line
from .view_screen import ViewScreen

SATURATED = 0.99
# while training, the window strip (T x H cells) is redrawn at most this often: it is most
# of the view's drawing cost, and the grid above already moves at the frame rate
STRIP_SECONDS = 1.0


def saturated_share(h: np.ndarray) -> float:
    """The share of units with |h| > 0.99."""
    return float(np.count_nonzero(np.abs(h) > SATURATED)) / max(1, h.size)


def grid_shape(units: int) -> tuple[int, int]:
    """(rows, columns) of the heatmap: square-ish, as many columns as rows or one more."""
    cols = max(1, math.ceil(math.sqrt(units)))
    return math.ceil(units / cols), cols


class HiddenView(ViewScreen):
    """Heatmap of hprev, its saturated share, and the last window's states over time."""

    NAME = "hidden"
    NEEDS = frozenset({WINDOW})

    def __init__(self, vocab: str, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.saturated: float | None = None  # the saturated share on screen
        self._strip_drawn = -math.inf

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.grid = SegmentRows(classes="view-grid")
        self.strip_head = TextLines(classes="view-text")
        self.strip = SegmentRows(classes="view-grid")
        yield self.head
        yield self.grid
        yield self.strip_head
        yield self.strip

    def show(self, snap: Snapshot) -> None:
        h = snap.hidden
        if h is None:
            return
        if snap.layer_state is not None:
            self._show_layers(snap)
            return
        H = h.size
        share = saturated_share(h)
        self.saturated = share
        rows, cols = grid_shape(H)
        self.head.set_lines([
            line((f"hidden state h ({H} units) after iter {snap.stats.iteration}", "bold"),
                 ("  carried into the next window", "dim")),
            line("saturated |h| > 0.99: ", (f"{100 * share:.1f}%", "warn" if share else "bold"),
                 (f" ({int(round(share * H))} of {H})", "dim"),
                 "   mean |h| ", (f"{float(np.abs(h).mean()):.3f}", "bold")),
        ])
        grid = []
        for r in range(rows):
            grid.append(cells(h[r * cols:(r + 1) * cols].tolist(), 2))
        grid.append([Segment("−1 "), *cells(np.linspace(-1, 1, 2 * cols).tolist(), 1),
                     Segment(" +1")])
        self.grid.set_rows(grid)
        win = snap.window
        now = time.monotonic()
        if snap.state is State.RUNNING and now - self._strip_drawn < STRIP_SECONDS:
            return
        self._strip_drawn = now
        if win is None:
            self.strip_head.set_lines([line(("no window yet: train or step (n) once", "dim"))])
            self.strip.set_rows([])
            return
        hs = win.hidden
        sat_window = saturated_share(hs)
        self.strip_head.set_lines([line(
            (f"window of iter {win.iteration}", "bold"),
            (": a row per timestep (its input), a column per unit", "dim"),
            "  saturated over it ", (f"{100 * sat_window:.1f}%", "bold"))])
        width = max(1, self.size.width - 4)
        self.strip.set_rows([
            [Segment(f"{printable(self.vocab[ix])} "), *cells(hs[t, :width].tolist(), 1)]
            for t, ix in enumerate(win.inputs)])

    def _show_layers(self, snap: Snapshot) -> None:
        """A network: per layer, h (and an LSTM's c, coloured by tanh c) as heatmaps side by
        side, with the saturated shares; then the gates' saturation over the last window."""
        state = snap.layer_state
        L, S, H = state.shape
        rows, cols = grid_shape(H)
        self.saturated = saturated_share(state[-1, 0])
        self.head.set_lines([
            line((f"hidden state of {L} layer{'s' if L > 1 else ''} × {H} units after iter "
                  f"{snap.stats.iteration}", "bold"),
                 ("  stream 0, carried into the next window", "dim")),
            line(("h left, the LSTM's cell state c right (coloured by tanh c)" if S == 2
                  else "h of each layer", "dim")),
        ])
        grid = []
        for k in range(L):
            h = state[k, 0]
            tanh_c = np.tanh(state[k, 1]) if S == 2 else None
            grid.append([Segment(f"layer {k}:{_layer_summary(state[k])}")])
            for r in range(rows):
                row = cells(h[r * cols:(r + 1) * cols].tolist(), 2)
                if tanh_c is not None:
                    row += [Segment("   "), *cells(tanh_c[r * cols:(r + 1) * cols].tolist(), 2)]
                grid.append(row)
        grid.append([Segment("−1 "), *cells(np.linspace(-1, 1, 2 * cols).tolist(), 1),
                     Segment(" +1")])
        self.grid.set_rows(grid)
        win = snap.window
        if win is None or not win.gates:
            self.strip_head.set_lines([])
            self.strip.set_rows([])
            return
        lines = [line((f"gates over the window of iter {win.iteration}", "bold"),
                      ("  the share at a rail (sigmoid < 0.01 or > 0.99, tanh beyond ±0.99)",
                       "dim"))]
        for k, g in enumerate(win.gates):
            parts = [f"layer {k}  "]
            for name, share in zip(win.gate_names, gate_saturation(g, win.gate_names)):
                parts += [f"{name} ", (f"{100 * share:.0f}%   ", "bold")]
            lines.append(line(*parts))
        self.strip_head.set_lines(lines)
        self.strip.set_rows([])


def _layer_summary(layer_state: np.ndarray) -> str:
    """'saturated 12.5% · mean |h| 0.412' (and an LSTM's mean and largest |c|)."""
    h = layer_state[0]
    text = f"  saturated {100 * saturated_share(h):.1f}% · mean |h| {float(np.abs(h).mean()):.3f}"
    if layer_state.shape[0] == 2:
        c = np.abs(layer_state[1])
        text += f" · mean |c| {float(c.mean()):.2f}, max {float(c.max()):.1f}"
    return text


def gate_saturation(gates: np.ndarray, names: str) -> list[float]:
    """Per gate, the share of a window's activations (T, G, H) that sit at a rail: a sigmoid
    gate below 0.01 or above 0.99, a tanh candidate (LSTM g, GRU n) beyond ±0.99."""
    out = []
    for k, name in enumerate(names):
        a = gates[:, k]
        if name in "gn":
            out.append(float(np.count_nonzero(np.abs(a) > SATURATED)) / a.size)
        else:
            out.append(float(np.count_nonzero((a < 1 - SATURATED) | (a > SATURATED))) / a.size)
    return out
