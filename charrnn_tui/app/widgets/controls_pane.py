"""The Controls pane: the hyperparameters that may change while training, editable live.

Enter applies a field. The pane only parses the text; the app validates the whole Config
(`Config.with_changes`, and that a window still fits the corpus) and reports back, so a bad
value is shown with its reason and never applied. The BLAS threads show the count in effect
(engine/threads.py); an environment that sets it makes the field read-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Input, Label, Static

from engine import Config
from engine.threads import environment_threads, threads_for

# (label, Config field, parser)
FIELDS: tuple[tuple[str, str, type], ...] = (
    ("learning rate", "learning_rate", float),
    ("seq length", "seq_length", int),
    ("temperature", "temperature", float),
    ("sample length", "sample_length", int),
    ("sample every", "sample_every", int),
    ("val fraction", "val_fraction", float),  # 0: no validation (the original's walk)
    ("BLAS threads", "threads", int),  # shown: the model's count unless one was set
)
KIND = {int: "an integer", float: "a number"}


def shown(config: Config, field: str) -> str:
    if field == "threads":
        return str(threads_for(config))
    value = getattr(config, field)
    return f"{value:g}" if isinstance(value, float) else str(value)


class ControlsPane(Vertical):
    """Labelled inputs and a line saying what happened to the last edit."""

    DEFAULT_CSS = """
    ControlsPane {
        border: round $primary 50%;
        border-title-color: $text-primary;
        border-title-style: bold;
        padding: 0 1;
    }
    #controls-grid {
        grid-size: 2;
        grid-columns: 14 1fr;
        grid-rows: 1;
        grid-gutter: 0 1;
        height: 7;
    }
    #controls-message {
        margin-top: 1;
        height: auto;
    }
    """

    @dataclass
    class Edited(Message):
        """The user entered a parsable value; the app decides whether it is valid."""

        field: str
        value: int | float

    def __init__(self, config: Config, **kwargs) -> None:
        super().__init__(**kwargs)
        self.border_title = "Controls"
        self.border_subtitle = "Enter applies · Esc leaves"
        self._config = config

    def compose(self) -> ComposeResult:
        pinned = environment_threads()
        with Grid(id="controls-grid"):
            for label, field, _ in FIELDS:
                yield Label(label, classes="control-label")
                box = Input(shown(self._config, field), id=f"ctl-{field}", compact=True,
                            select_on_focus=True)
                if field == "threads" and pinned is not None:
                    box.disabled = True
                    box.tooltip = f"set by {pinned} in the environment"
                yield box
        yield Static("", markup=False, id="controls-message")

    @property
    def config(self) -> Config:
        """The settings the pane shows."""
        return self._config

    def set_config(self, config: Config) -> None:
        """Show the values in effect (after a key press or an applied edit)."""
        self._config = config
        for _, field, _ in FIELDS:
            for box in self.query(f"#ctl-{field}").results(Input):  # none while shutting down
                if not box.has_focus:
                    box.value = shown(config, field)

    def report(self, ok: bool, text: str, field: str | None = None) -> None:
        """Say what happened to an edit; a rejected field is marked until it is edited."""
        mark, style = ("✓ ", "$text-success") if ok else ("✗ ", "$text-error")
        for message in self.query("#controls-message").results(Static):
            message.update(Content.assemble((mark, style), (text, style)))
        for box in self.query(Input).results(Input):
            rejected = not ok and box.id == f"ctl-{field}"
            box.set_class(rejected, "-invalid")
            box.tooltip = text if rejected else None

    def on_input_changed(self, event: Input.Changed) -> None:
        event.input.remove_class("-invalid")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        field = (event.input.id or "").removeprefix("ctl-")
        label, parse = next((lab, p) for lab, f, p in FIELDS if f == field)
        text = event.value.strip()
        try:
            value = parse(text)
        except ValueError:
            self.report(False, f"{label} must be {KIND[parse]}, got {text!r}", field)
            return
        self.post_message(self.Edited(field, value))

    def on_input_blurred(self, event: Input.Blurred) -> None:
        event.input.value = shown(self._config, event.input.id.removeprefix("ctl-"))
