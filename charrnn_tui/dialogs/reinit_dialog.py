"""The confirmation asked before `R` throws the model away: same seed, new seed, or cancel."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

SAME, NEW = "same", "new"


class ReinitDialog(ModalScreen[str | None]):
    """Dismisses with "same", "new" or None."""

    DEFAULT_CSS = """
    ReinitDialog {
        align: center middle;
    }
    #reinit-box {
        width: 64;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    #reinit-title {
        text-style: bold;
    }
    #reinit-text {
        width: 100%;
        margin: 1 0;
    }
    #reinit-buttons {
        height: auto;
        align-horizontal: center;
    }
    #reinit-buttons Button {
        margin: 0 1;
    }
    """

    BINDINGS = [
        Binding("s", "choose('same')", "Same seed"),
        Binding("n", "choose('new')", "New seed"),
        Binding("escape", "choose(None)", "Cancel"),
    ]

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.seed = seed

    def compose(self) -> ComposeResult:
        with Vertical(id="reinit-box"):
            yield Label("Re-initialise the model?", id="reinit-title")
            yield Label("New weights, zero Adagrad memory and hidden state; the loss "
                        "history and samples start over. The corpus and settings stay.",
                        id="reinit-text")
            with Horizontal(id="reinit-buttons"):
                yield Button(f"Same seed {self.seed} (s)", id=SAME, variant="warning")
                yield Button("New seed (n)", id=NEW, variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_choose(event.button.id if event.button.id in (SAME, NEW) else None)

    def action_choose(self, choice: str | None) -> None:
        if self.is_current:  # keys already queued behind the first answer must not pop again
            self.dismiss(choice)
