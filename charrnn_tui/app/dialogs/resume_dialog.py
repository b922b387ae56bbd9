"""The resume picker: this corpus's checkpoints with iteration, loss and date; pick one."""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from engine.store.checkpoint import CheckpointInfo
from engine.units import bits


def describe(info: CheckpointInfo, current_run: str | None = None) -> str:
    """Two lines: iteration, loss and date; then which run wrote it and its model."""
    per_char = bits(info.smooth_loss / info.seq_length)
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.saved_at))
    run = f"run {info.run}" if info.run else "run unknown (an older version's file)"
    if info.run and info.run == current_run:
        run += " (this run)"
    return (f"iter {info.iteration:>9}   loss {info.smooth_loss:9.4f} ({per_char:.3f} bits/char)"
            f"   {when}\n  {run} · seed {info.seed} · hidden {info.hidden_size}")


class ResumeDialog(ModalScreen[Path | None]):
    """Dismisses with the chosen checkpoint's path, or None."""

    DEFAULT_CSS = """
    ResumeDialog {
        align: center middle;
    }
    #resume-box {
        width: 90;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #resume-title {
        text-style: bold;
    }
    #resume-dir, #resume-help {
        color: $text-muted;
    }
    #resume-list {
        height: auto;
        max-height: 16;
        margin: 1 0;
    }
    #resume-empty {
        margin: 1 0;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, infos: list[CheckpointInfo], directory: Path,
                 current_run: str | None = None) -> None:
        super().__init__()
        self.infos = infos
        self.current_run = current_run  # its files are marked "this run"
        self.directory = directory

    def compose(self) -> ComposeResult:
        with Vertical(id="resume-box"):
            yield Label("Resume from a checkpoint (newest first)", id="resume-title")
            yield Label(str(self.directory), id="resume-dir", markup=False)
            if self.infos:
                yield OptionList(*(Option(describe(i, self.current_run), id=str(i.path))
                                   for i in self.infos), id="resume-list")
            else:
                yield Label("No checkpoints for this corpus yet (ctrl+s saves one).",
                            id="resume-empty")
            yield Label("enter resumes · esc cancels", id="resume-help")

    def on_mount(self) -> None:
        for listing in self.query(OptionList):  # the app does not auto-focus; the list should
            listing.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.is_current:  # keys already queued behind the first answer must not pop again
            self.dismiss(Path(event.option.id))

    def action_cancel(self) -> None:
        if self.is_current:
            self.dismiss(None)
