"""The gradient-check view (`g`, while paused): numerical against analytic gradients.

The run executes `engine.check_trainer` in its trainer thread (it perturbs the weights and
restores them, so it must not race a step): a model sharing the trainer's weights, over the
last training window from the hidden state that window started from, with clipping off. Per
parameter matrix: entries compared, the largest relative error |num - ana| / (|num| + |ana|),
pass/fail at 1e-6. `g` runs it again (while paused).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding

from charrnn_tui.link.monitor import Snapshot
from engine.inspect.gradcheck import ENTRIES, GradCheckResult, TrainerCheck

from ..messages import CheckAbandoned
from ..widgets.text_lines import TextLines, line
from .view_screen import ViewScreen

TOLERANCE = 1e-6


class GradCheckView(ViewScreen):
    """A table of per-parameter relative errors; reruns on `g` while paused."""

    NAME = "gradcheck"
    BINDINGS = [Binding("g", "app.gradient_check", "Re-check", id="gradcheck-again")]

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self.results: tuple[GradCheckResult, ...] = ()  # the results on screen (empty: checking)
        self.request = 0  # the check under way or shown (the app cancels it when this closes)

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.table = TextLines(classes="view-table")
        yield self.head
        yield self.table

    def on_mount(self) -> None:
        self.running()

    def running(self) -> None:
        self.results = ()
        self.head.set_lines([line(("checking gradients…", "dim"))])

    def progress(self, done: int, total: int) -> None:
        if not self.results:
            self.head.set_lines([line((f"checking gradients… {done} of {total} entries "
                                       f"({100 * done // max(1, total)}%), escape cancels",
                                       "dim"))])

    def on_unmount(self) -> None:
        if self.request and not self.results:  # a large model's check stops between entries
            self.app.post_message(CheckAbandoned(self.request))

    def failed(self, why: str) -> None:
        self.head.set_lines([line((f"gradient check: {why} (g checks again)", "warn"))])

    def show_results(self, check: TrainerCheck) -> None:
        self.results = check.results
        all_pass = all(r.passed(TOLERANCE) for r in check.results)
        self.head.set_lines([
            line((f"gradient check at iter {check.iteration}", "bold"),
                 f": {check.source}; clipping off, central differences, "),
            line(f"up to {ENTRIES} random entries per parameter, pass below {TOLERANCE:g} "
                 "relative or within the difference quotient's own noise"),
            line(("all pass" if all_pass else "FAILED", "good" if all_pass else "bad")),
            line(""),
            line(("{:<5}{:>9}{:>16}{:>14}   {}".format("", "checked", "max rel error",
                                                       "in noise", "result"), "bold")),
        ])
        self.table.set_lines([
            line(f"{r.name:<5}{r.checked:>9}{r.max_rel_error:>16.3e}{r.within_noise:>14}   ",
                 ("pass", "good") if r.passed(TOLERANCE) else ("FAIL", "bad"))
            for r in check.results])
        if any(r.within_noise for r in check.results):
            note = ("in noise: entries whose error exceeds the relative bar but is inside the",
                    "numerical estimate's own uncertainty. A trained model's saturated tanh",
                    "units put ~1e-10 of rounding noise on every difference quotient.")
            self.table.set_lines([*self.table._lines, line(""),
                                  *(line((text, "dim")) for text in note)])

    def show(self, snap: Snapshot) -> None:
        pass  # the status line is all that changes per frame
