"""The influence view (`i`): how much each earlier character moves one prediction.

For the selected position t of a window, the trainer thread takes the gradient of
log p(target_t) with respect to each earlier input's embedding row (the row of Wx, in
min-char-rnn the column of Wxh, that the character selects) by backpropagation through time
(`engine.inspect.probe.influence`), after "Visualizing memorization in RNNs" (Distill, 2019). Each
input is coloured by the norm of its gradient over the window's peak, on the surprisal view's
heat scale (green: none, red: the peak); the head says how far back the model looks: beyond
that distance influence stays under 10% of its peak.

The window is the last training window (`a` takes the newest), or with `v` 200 characters of
the neuron explorer's passage ending at a position. ←/→ move the position.
"""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding

from charrnn_tui.link.monitor import Snapshot
from charrnn_tui.link.probes import InfluenceAnswer, InfluenceAt, PassageInfluence
from charrnn_tui.link.protocol import ProbeDone
from engine.inspect import probe

from ..widgets.segment_rows import SegmentRows, cells, heat, printable
from ..widgets.text_lines import TextLines, line
from .neurons_view import DEFAULT_WIDTH, wrap
from .probe_view import ProbeView

TOP = 8  # the most influential inputs listed
PASSAGE_START = probe.INFLUENCE_SPAN - 1  # the passage position first shown
TARGET = Style(bold=True, underline=True)  # the predicted character, after ▶


class InfluenceView(ProbeView):
    """A window coloured by each input's influence on the prediction at one position."""

    NAME = "influence"
    BINDINGS = [
        Binding("left", "move(-1)", "◀ pos", id="influence-left"),
        Binding("right", "move(1)", "pos ▶", id="influence-right"),
        Binding("pageup", "move(-50)", "Back 50", show=False),
        Binding("pagedown", "move(50)", "On 50", show=False),
        Binding("v", "source", "Window/passage", id="influence-source"),
        Binding("a", "again", "Newest window", id="influence-again"),
    ]

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.answer: InfluenceAnswer | None = None
        self.on_passage = False
        self.passage_at = PASSAGE_START
        self._status = "computing…"

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.chars = SegmentRows(classes="view-grid")
        self.table = TextLines(classes="view-table")
        yield self.head
        yield self.chars
        yield self.table

    def on_mount(self) -> None:
        self.action_again()

    def action_again(self) -> None:
        self._ask(InfluenceAt(None, -1) if not self.on_passage
                  else PassageInfluence(self.passage_at))

    def action_source(self) -> None:
        self.on_passage = not self.on_passage
        self.action_again()

    def action_move(self, delta: int) -> None:
        if self.on_passage:
            self.passage_at = max(0, min(probe.PASSAGE - 2, self.passage_at + delta))
            self._ask(PassageInfluence(self.passage_at))
            return
        answer = self.answer
        if answer is None or answer.window.where != "the last window":
            return
        T = len(answer.window.inputs)
        t = (answer.influence.position + delta) % T
        self._ask(InfluenceAt(answer.window, t))

    def _ask(self, query: InfluenceAt | PassageInfluence) -> None:
        self._status = "computing…"
        self._draw_head()
        self.request(query)

    def answered(self, done: ProbeDone) -> None:
        if done.error:
            self._status = f"could not compute: {done.error}"
        elif done.answer is None:
            self._status = "no window yet: train or step (n) once"
        else:
            self._status = ""
            self.show_answer(done.answer)
            return
        self._draw_head()

    def show_answer(self, answer: InfluenceAnswer) -> None:
        self.answer = answer
        self._draw_head()
        self._draw_chars()
        self._draw_table()

    def show(self, snap: Snapshot) -> None:
        pass  # computed on request; the status line shows the run

    def _draw_head(self) -> None:
        lines = []
        answer = self.answer
        if answer is not None:
            win, inf = answer.window, answer.influence
            t, vocab = inf.position, self.vocab
            where = (f"the last window (iter {win.iteration})" if win.where == "the last window"
                     else f"the passage's {len(win.inputs)} characters ending at character "
                          f"{self.passage_at}")
            lines += [
                line((f"influence on the prediction at position {t}", "bold"),
                     f" of {where}: after {printable(vocab[win.inputs[t]])!r} the target "
                     f"{printable(vocab[inf.target])!r}, p = ", (f"{math.exp(inf.logp):.3f}",
                                                               "bold")),
                line("each input coloured by ‖∂ log p(target) / ∂ its embedding row‖ over the "
                     "peak (green none → red peak), through BPTT"),
                line("looks back ", (f"{inf.reach}", "accent"),
                     " characters: farther back, influence stays under 10% of its peak (",
                     (f"{inf.peak_distance}", "bold"), " back)"),
                line(("←/→ position   v last window / the explorer's passage   "
                      "a the newest window", "dim")),
            ]
        if self._status:
            lines.append(line((self._status, "warn")))
        self.head.set_lines(lines)

    def _draw_chars(self) -> None:
        win, inf = self.answer.window, self.answer.influence
        shares = inf.shares.tolist()
        text = "".join(self.vocab[i] for i in win.inputs.tolist())
        width = self.chars.size.width - 2
        rows = []
        for start, stop in wrap(text, width if width > 10 else DEFAULT_WIDTH):
            row = []
            for k in range(start, stop):
                ch = printable(text[k])
                if k < len(shares):
                    row.append(Segment(ch, heat(shares[k])))
                else:
                    row.append(Segment(ch))
                if k == inf.position:
                    row.append(Segment("▶"))
                    row.append(Segment(printable(self.vocab[inf.target]), TARGET))
            rows.append(row)
        rows.append([Segment("none "), *cells([k / 20 for k in range(21)], 1, heat),
                     Segment(" peak")])
        self.chars.set_rows(rows)

    def _draw_table(self) -> None:
        win, inf = self.answer.window, self.answer.influence
        shares = inf.shares
        order = sorted(range(len(shares)), key=lambda k: (-shares[k], -k))[:TOP]
        parts = [("most influential: ", "bold")]
        for k in order:
            parts += [f"{inf.position - k} back {printable(self.vocab[win.inputs[k]])!r} ",
                      (f"{shares[k]:.2f}", "bold"), "   "]
        self.table.set_lines([line(*parts)])


