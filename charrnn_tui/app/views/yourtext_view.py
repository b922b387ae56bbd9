"""Your own text (`y`): type or paste a prime and see how the model continues it, or score
the text by its per-character surprisal.

Ctrl+G continues the text: the model reads it from the current carried state and samples the
Controls' sample length at their temperature (or greedily), as `s` does with a prime. Ctrl+T
scores it: read from h = 0 as a new text starts (as `charrnn-tui score` does), each character
after the first coloured by -log p on the surprisal view's heat scale (red: ln V or more), with
the total in bits/char. Characters outside the corpus's vocabulary are marked (reversed) and
read as if absent; a prime holding one is refused with its name. Both run in the trainer
thread, between steps. Escape closes the view.
"""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import TextArea

from charrnn_tui.link.monitor import Snapshot
from charrnn_tui.link.probes import MAX_TEXT, Continuation, ContinueText, Score, ScoreText
from charrnn_tui.link.protocol import ProbeDone
from engine.inspect import probe

from ..widgets.segment_rows import SegmentRows, heat, printable
from ..widgets.text_lines import TextLines, line
from .neurons_view import DEFAULT_WIDTH, wrap
from .probe_view import ProbeView

UNKNOWN = Style(reverse=True, bold=True)
PRIME = Style(dim=True)


class YourTextView(ProbeView):
    """A text area; below it the model's continuation, or the text coloured by surprisal."""

    NAME = "yourtext"
    BINDINGS = [
        Binding("ctrl+g", "continue_text", "Continue", id="yourtext-continue", priority=True),
        Binding("ctrl+t", "score_text", "Score", id="yourtext-score", priority=True),
    ]
    DEFAULT_CSS = """
    YourTextView TextArea {
        height: 6;
        margin: 0 1;
    }
    """

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.result: Continuation | Score | None = None
        self._status = ""

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.editor = TextArea(soft_wrap=True, show_line_numbers=False)
        self.out_head = TextLines(classes="view-text")
        self.out = SegmentRows(classes="view-grid")
        yield self.head
        yield self.editor
        yield self.out_head
        yield self.out

    def on_mount(self) -> None:
        self._draw_head()
        self.editor.focus()

    @property
    def text(self) -> str:
        return self.editor.text

    def _refuse(self, why: str) -> None:
        self._status = why
        self._draw_head()

    def action_continue_text(self) -> None:
        prime = self.text
        if not prime:
            return self._refuse("type a prime first")
        if len(prime) > MAX_TEXT:
            return self._refuse(f"a prime of at most {MAX_TEXT} characters, please")
        _, unknown = probe.split_known(self.vocab, prime)
        if unknown:
            self._mark_unknown(prime, unknown)
            return self._refuse(f"cannot continue: {printable(prime[unknown[0]])!r} is not in "
                                f"the corpus's vocabulary ({len(unknown)} such character"
                                f"{'s' if len(unknown) > 1 else ''}, marked below)")
        self._status = "continuing…"
        self._draw_head()
        self.request(ContinueText(prime))

    def action_score_text(self) -> None:
        text = self.text[:MAX_TEXT]
        self._status = "scoring…"
        self._draw_head()
        self.request(ScoreText(text))

    def answered(self, done: ProbeDone) -> None:
        if done.error:
            self._status = done.error
        else:
            self._status = ""
            self.show_result(done.answer)
        self._draw_head()

    def show_result(self, result: Continuation | Score) -> None:
        self.result = result
        if isinstance(result, Continuation):
            how = "greedily" if result.greedy else f"at temperature {result.temperature:g}"
            self.out_head.set_lines([line(("continuation", "bold"),
                                          f" of {len(result.text)} characters {how} "
                                          "(your prime dimmed), from the carried state")])
            text = result.prime + result.text
            styles = [PRIME] * len(result.prime) + [None] * len(result.text)
        else:
            unknown = set(result.unknown)
            worst = math.log(max(2, len(self.vocab)))
            losses = result.losses.tolist()
            styles, k = [], -1
            for pos in range(len(result.text)):
                if pos in unknown:
                    styles.append(UNKNOWN)
                    continue
                k += 1
                styles.append(None if k == 0 else heat(losses[k - 1] / worst))
            skipped = (f"; {len(unknown)} outside the vocabulary (reversed) skipped"
                       if unknown else "")
            self.out_head.set_lines([line(("scored", "bold"), ": ",
                                          (f"{result.bits_per_char:.3f}", "bold"),
                                          f" bits/char over {len(losses)} predicted characters, "
                                          f"read from h = 0{skipped}"),
                                     line(("each character coloured by −log p: green sure → "
                                           f"red = ln V = {worst:.2f} nats", "dim"))])
            text = result.text
        self._draw_text(text, styles)

    def _mark_unknown(self, text: str, unknown: list[int]) -> None:
        marked = set(unknown)
        self.out_head.set_lines([line(("outside the vocabulary, reversed:", "bad"))])
        self._draw_text(text, [UNKNOWN if k in marked else None for k in range(len(text))])

    def _draw_text(self, text: str, styles: list) -> None:
        width = self.out.size.width - 2
        rows = []
        for start, stop in wrap(text, width if width > 10 else DEFAULT_WIDTH):
            rows.append([Segment(" " if text[k] == " " else printable(text[k]), styles[k])
                         for k in range(start, stop)])
        self.out.set_rows(rows)

    def show(self, snap: Snapshot) -> None:
        pass

    def _draw_head(self) -> None:
        lines = [line(("your own text", "bold"),
                      ("   Ctrl+G continues it (Controls' length, temperature, greedy)   "
                       "Ctrl+T scores it   Esc closes", "dim"))]
        if self._status:
            lines.append(line((self._status, "warn")))
        self.head.set_lines(lines)
