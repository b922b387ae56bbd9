"""The neuron explorer (`x`): a passage coloured by one unit's activation, and the units that
track simple text features.

On opening (and on `a`) the trainer thread reads up to 4000 characters (the held-out part when
there is one, else the start of the training text) from the current weights and stream 0's
carried state (`engine.inspect.probe.explore`): forward passes only, between steps. Each
character is coloured by the selected unit's state after reading it on the hidden view's
diverging scale (blue -1, dark 0, red +1; an LSTM's cell state by tanh c). ←/→ or digits
pick the unit, `v` the layer and part (h, c), PageUp/PageDown scroll. Below, per feature,
the units whose activations correlate most with it (Pearson r); ↑/↓ pick one and Enter
jumps to it.
"""

from __future__ import annotations

import numpy as np
from rich.segment import Segment
from textual.app import ComposeResult
from textual.binding import Binding

from charrnn_tui.link.monitor import Snapshot
from charrnn_tui.link.probes import Explore
from charrnn_tui.link.protocol import ProbeDone
from engine.inspect import probe

from ..widgets.segment_rows import SegmentRows, cells, diverging, printable
from ..widgets.text_lines import TextLines, line
from .probe_view import ProbeView

ROWS = 14  # passage rows on screen
DEFAULT_WIDTH = 100  # columns per passage row before the widget has a size


def wrap(text: str, width: int) -> list[tuple[int, int]]:
    """(start, stop) of each row: a row ends after a newline or at `width` characters."""
    rows, start = [], 0
    for k, ch in enumerate(text):
        if ch == "\n" or k + 1 - start >= width:
            rows.append((start, k + 1))
            start = k + 1
    if start < len(text):
        rows.append((start, len(text)))
    return rows


class NeuronsView(ProbeView):
    """The passage under one unit's colours, the unit's own r per feature, and the ranking."""

    NAME = "neurons"
    BINDINGS = [
        Binding("left", "unit(-1)", "◀ unit", id="unit-left"),
        Binding("right", "unit(1)", "unit ▶", id="unit-right"),
        Binding("v", "part", "Layer/part", id="unit-part"),
        Binding("pageup", "scroll(-1)", "Page up", show=False),
        Binding("pagedown", "scroll(1)", "Page down", show=False),
        Binding("up", "pick(-1)", "▲ table", show=False),
        Binding("down", "pick(1)", "▼ table", show=False),
        Binding("enter", "jump", "Go to unit", id="unit-jump"),
        Binding("a", "again", "Read again", id="neurons-again"),
        *(Binding(str(d), f"digit({d})", show=False) for d in range(10)),
    ]

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.exploration: probe.Exploration | None = None
        self.unit_layer, self.unit_part, self.unit_index = 0, "h", 0  # the unit on screen
        self.top_row = 0  # the first passage row on screen
        self.picked = 0  # the table entry ↑/↓ point at (feature-major)
        self._typed = ""  # digits typed so far
        self._status = "reading the passage…"

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.passage = SegmentRows(classes="view-grid")
        self.unit_line = TextLines(classes="view-text")
        self.table = TextLines(classes="view-table")
        yield self.head
        yield self.passage
        yield self.unit_line
        yield self.table

    def on_mount(self) -> None:
        self.action_again()

    # -- the request ---------------------------------------------------------------------

    def action_again(self) -> None:
        self._status = "reading the passage…"
        self._draw_head()
        self.request(Explore())

    def progress(self, share: float) -> None:
        self._status = f"reading the passage… {100 * share:.0f}%"
        self._draw_head()

    def answered(self, done: ProbeDone) -> None:
        if done.error:
            self._status = f"could not read the passage: {done.error}"
            self._draw_head()
            return
        self.show_exploration(done.answer)

    def show_exploration(self, exploration: probe.Exploration) -> None:
        self.exploration = exploration
        reading = exploration.reading
        self.unit_layer = min(self.unit_layer, reading.layers - 1)
        if self.unit_part not in reading.parts:
            self.unit_part = "h"
        self.unit_index = min(self.unit_index, reading.hidden.shape[2] - 1)
        self._status = ""
        self.redraw()

    # -- keys ----------------------------------------------------------------------------

    @property
    def selected(self) -> tuple[int, str, int]:
        """The unit on screen: (layer, part, index)."""
        return self.unit_layer, self.unit_part, self.unit_index

    @property
    def units(self) -> int:
        return 0 if self.exploration is None else self.exploration.reading.hidden.shape[2]

    def action_unit(self, delta: int) -> None:
        if self.units:
            self._typed = ""
            self.unit_index = (self.unit_index + delta) % self.units
            self.redraw()

    def action_digit(self, digit: int) -> None:
        if not self.units:
            return
        typed = self._typed + str(digit)
        if int(typed) >= self.units:
            typed = str(digit)  # a number past the last unit starts a new one
        if int(typed) < self.units:
            self._typed = typed
            self.unit_index = int(typed)
            self.redraw()

    def action_part(self) -> None:
        """Next (layer, part): layer 0 h, layer 0 c (LSTM), layer 1 h, ..."""
        if self.exploration is None:
            return
        reading = self.exploration.reading
        order = [(k, p) for k in range(reading.layers) for p in reading.parts]
        at = order.index((self.unit_layer, self.unit_part))
        self.unit_layer, self.unit_part = order[(at + 1) % len(order)]
        self.redraw()

    def action_scroll(self, pages: int) -> None:
        if self.exploration is not None:
            rows = len(wrap(self.exploration.text, self._width()))
            self.top_row = max(0, min(self.top_row + pages * ROWS, max(0, rows - ROWS)))
            self._draw_passage()

    def _entries(self) -> list[probe.UnitScore]:
        if self.exploration is None:
            return []
        return [u for rank in self.exploration.ranks for u in rank.top]

    def action_pick(self, delta: int) -> None:
        entries = self._entries()
        if entries:
            self.picked = (self.picked + delta) % len(entries)
            self._draw_table()

    def action_jump(self) -> None:
        entries = self._entries()
        if entries:
            unit = entries[min(self.picked, len(entries) - 1)]
            self.unit_layer, self.unit_part, self.unit_index = unit.layer, unit.part, unit.index
            self._typed = ""
            self.redraw()

    # -- drawing -------------------------------------------------------------------------

    def show(self, snap: Snapshot) -> None:
        pass  # the passage is read on request; the status line shows the run

    def _width(self) -> int:
        width = self.passage.size.width - 2
        return width if width > 10 else DEFAULT_WIDTH

    def _values(self) -> np.ndarray:
        """The selected unit's activations over the passage, as coloured (c: tanh c)."""
        values = self.exploration.reading.unit(self.unit_layer, self.unit_part, self.unit_index)
        return np.tanh(values) if self.unit_part == "c" else values

    def redraw(self) -> None:
        self._draw_head()
        if self.exploration is None:
            return
        self._draw_passage()
        self._draw_unit()
        self._draw_table()

    def _draw_head(self) -> None:
        ex = self.exploration
        lines = []
        if ex is not None:
            where = "the held-out part" if ex.held_out else "the start of the training text"
            reading = ex.reading
            lines.append(line((f"{len(ex.text)} characters of {where}", "bold"),
                              f" (position {ex.start}), read at iter {ex.iteration} from the "
                              "carried state", ("   a: read again", "dim")))
            lines.append(line("unit ", (f"{self.unit_index}", "accent"),
                              f" of {reading.hidden.shape[2]}, layer {self.unit_layer}"
                              f"{f' of {reading.layers}' if reading.layers > 1 else ''}, ",
                              (("cell state c (coloured by tanh c)" if self.unit_part == "c"
                                else "hidden state h"), "bold"),
                              ("   ←/→ or digits: unit   v: layer/part   PgUp/PgDn: scroll",
                               "dim")))
        if self._status:
            lines.append(line((self._status, "warn")))
        self.head.set_lines(lines)

    def _draw_passage(self) -> None:
        ex = self.exploration
        values = self._values().tolist()
        rows = wrap(ex.text, self._width())
        self.top_row = min(self.top_row, max(0, len(rows) - ROWS))
        out = []
        for start, stop in rows[self.top_row:self.top_row + ROWS]:
            out.append([Segment(printable(ex.text[k]), diverging(values[k]))
                        for k in range(start, stop)])
        out.append([Segment(f"rows {self.top_row + 1}-{min(len(rows), self.top_row + ROWS)} "
                            f"of {len(rows)}   −1 "), *cells(np.linspace(-1, 1, 21).tolist(), 1),
                    Segment(" +1")])
        self.passage.set_rows(out)

    def _draw_unit(self) -> None:
        ex = self.exploration
        raw = ex.reading.unit(self.unit_layer, self.unit_part, self.unit_index)
        label = probe.UnitScore(*self.selected, 0.0).label
        parts = [(label, "accent"),
                 f": mean {raw.mean():+.2f}, range {raw.min():+.2f} to {raw.max():+.2f};  r with "]
        for name, values in ex.features.items():
            if values.min() == values.max():
                continue
            r = float(probe.pearson(values, raw[:, None])[0])
            parts += [f"{name} ", (f"{r:+.2f}", "bold" if abs(r) > 0.5 else ""), "  "]
        self.unit_line.set_lines([line(*parts)])

    def _draw_table(self) -> None:
        ex = self.exploration
        lines = [line(("units that track text features", "bold"),
                      (" (Pearson r over the passage; ↑/↓ pick, Enter goes to the unit)", "dim"))]
        k = 0
        for rank in ex.ranks:
            parts = [f"{rank.feature:<16}"]
            if not rank.varies:
                parts.append(("absent from the passage", "dim"))
            for unit in rank.top:
                here = (unit.layer, unit.part, unit.index) == self.selected
                style = "accent" if k == self.picked else ("bold" if here else "")
                parts += [(f"{'▶' if k == self.picked else ' '}{unit.label:<8} {unit.r:+.3f}",
                           style), "   "]
                k += 1
            lines.append(line(*parts))
        self.table.set_lines(lines)
