"""The confirmation asked before `R` throws the model away: which model, same or new seed.

`m` steps through the models on offer (this one, then each preset of `engine.presets`), so a
user can compare an RNN and an LSTM on the same corpus without leaving the app.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from engine.presets import PRESETS

from .question import QuestionDialog

SAME, NEW = "same", "new"


@dataclass(frozen=True)
class ReinitChoice:
    seed: str  # SAME or NEW
    preset: str | None  # a preset's name, or None for the current model


class ReinitDialog(QuestionDialog[ReinitChoice | None]):
    """Dismisses with a ReinitChoice, or None."""

    DEFAULT_CSS = """
    #reinit-model {
        width: 100%;
        margin: 0 0 1 0;
        color: $text-primary;
    }
    """

    BINDINGS = [
        Binding("s", "choose('same')", "Same seed"),
        Binding("n", "choose('new')", "New seed"),
        Binding("m", "next_model", "Model"),
        Binding("escape", "choose(None)", "Cancel"),
    ]

    def __init__(self, seed: int, model: str = "") -> None:
        """`model` describes the current model (Config.describe_model)."""
        super().__init__()
        self.seed = seed
        self.model = model
        self.choices: list[tuple[str | None, str]] = [
            (None, f"this model ({model})" if model else "this model"),
            *((p.name, f"{p.name}: {p.summary}") for p in PRESETS.values())]
        self.picked = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="reinit-box", classes="question-box"):
            yield Label("Re-initialise the model?", id="reinit-title", classes="question-title")
            yield Label("New weights, zero optimizer memory and hidden state; the loss "
                        "history and samples start over. The corpus and settings stay (a "
                        "preset brings its own model and training settings).",
                        id="reinit-text", classes="question-text")
            yield Label(self._model_line(), id="reinit-model", markup=False)
            with Horizontal(id="reinit-buttons", classes="question-buttons"):
                yield Button(f"Same seed {self.seed} (s)", id=SAME, variant="warning")
                yield Button("New seed (n)", id=NEW, variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_choose(event.button.id if event.button.id in (SAME, NEW) else None)

    def _model_line(self) -> str:
        return f"Model: {self.choices[self.picked][1]}   (m: next)"

    def action_next_model(self) -> None:
        self.picked = (self.picked + 1) % len(self.choices)
        self.query_one("#reinit-model", Label).update(self._model_line())

    def action_choose(self, choice: str | None) -> None:
        if self.is_current:  # keys already queued behind the first answer must not pop again
            self.dismiss(None if choice is None
                         else ReinitChoice(choice, self.choices[self.picked][0]))
