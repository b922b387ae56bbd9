"""The step-through view (`w`, while paused): the window of the step just run, timestep by
timestep, with `n` running one more.

For each position: the input character, the target, the probability the model gave the target
and its loss, and the model's three likeliest next characters. Under the table, how many
entries of each parameter's gradient hit the ±clip bound in that step's update.
"""

from __future__ import annotations

from textual.app import ComposeResult

from charrnn_tui.link.monitor import WINDOW, Snapshot

from ..widgets.segment_rows import printable
from ..widgets.text_lines import TextLines, line
from .view_screen import ViewScreen

ROW = "{:>3}  {:^5}  {:^6}  {:>9}  {:>6}   {}"


class StepThroughView(ViewScreen):
    """One row per timestep of the last window; the clip counts of its gradient."""

    NAME = "stepthrough"
    NEEDS = frozenset({WINDOW})

    def __init__(self, vocab: str, **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.inputs: tuple[int, ...] = ()  # the inputs of the window on screen

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.table = TextLines(classes="view-table")
        self.clip = TextLines(classes="view-text")
        yield self.head
        yield self.table
        yield self.clip

    def show(self, snap: Snapshot) -> None:
        win, vocab = snap.window, self.vocab
        if win is None:
            self.head.set_lines([line(("no window yet: press n to run one step", "dim"))])
            return
        self.inputs = win.inputs
        self.head.set_lines([
            line((f"iteration {win.iteration}", "bold"), f": {len(win.inputs)} timesteps",
                 ("   n runs one more step while paused", "dim")),
            line((ROW.format("t", "input", "target", "p(target)", "loss", "top 3 predictions"),
                  "bold")),
        ])
        rows = []
        for t, (x, y) in enumerate(zip(win.inputs, win.targets)):
            p = win.probs[t]
            top = p.argsort()[::-1][:3].tolist()
            guesses = "  ".join(f"{printable(vocab[ix])} {p[ix]:.2f}" for ix in top)
            pt = float(p[y])
            style = "good" if top[0] == y else ("warn" if pt < 0.05 else "")
            rows.append(line((ROW.format(t, printable(vocab[x]), printable(vocab[y]),
                                         f"{pt:.4f}", f"{win.losses[t]:.3f}", guesses), style)))
        self.table.set_lines(rows)
        clip = snap.config.clip
        parts = []
        for name, count in zip(snap.stats.param_names, win.clipped):
            parts += [f"  {name} ", (str(count), "warn" if count else "bold")]
        self.clip.set_lines([line((f"gradient entries at ±{clip:g} (clipped):", "bold"),
                                  *parts)])
