"""A yes-or-no question asked before an action that cannot be taken back (end a run, hand it
over to a process of its own)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from .question import QuestionDialog


class ConfirmDialog(QuestionDialog[bool]):
    """Dismisses with True (y, or the action's button) or False (n, escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, text: str, yes: str) -> None:
        super().__init__()
        self.title_text, self.text, self.yes = title, text, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="question-box"):
            yield Label(self.title_text, classes="question-title", markup=False)
            yield Label(self.text, classes="question-text", markup=False)
            with Horizontal(classes="question-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="warning")
                yield Button("Cancel (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_answer(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        if self.is_current:  # keys queued behind the first answer must not pop again
            self.dismiss(yes)
