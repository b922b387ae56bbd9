"""A run's details (enter on the runs screen): its config, its checkpoints, its last samples.

Choosing a checkpoint dismisses the dialog with its path (the runs screen asks the app to
resume from it); escape dismisses with None.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from engine.store.checkpoint import CheckpointError, CheckpointStore, checkpoint_info
from engine.store.runs import Run, cell_text, setting_text
from engine.text import visible

LAST_SAMPLES = 3


def run_checkpoints(run: Run) -> list[Path]:
    """The checkpoints the run wrote that are still there, newest first."""
    if not run.checkpoints or not run.run:
        return []
    return list(reversed(CheckpointStore(run.checkpoints).paths(run.run)))


def summary_lines(run: Run) -> list[str]:
    """What the dialog says of a run: its fields come from the log, checked and without
    control characters (engine/store/runs.py); the log's own path is made visible here."""
    started = cell_text(run, "started") or "unknown"
    lines = [f"run {run.name} · started {started} · corpus {run.corpus or 'unknown'}",
             f"log {visible(str(run.path))}"
             + (f" (run {run.index + 1} of the file)" if run.index else ""),
             f"{cell_text(run, 'iterations') or '0'} iterations · {cell_text(run, 'chars')} "
             f"chars · wall {cell_text(run, 'wall')} · last {cell_text(run, 'bits')} bits/char"
             f" · best val {cell_text(run, 'val') or '—'}"]
    if run.legacy:
        lines.append("an older log without a header: its settings were not recorded")
    if run.skipped:
        lines.append(f"{run.skipped} corrupt line(s) skipped")
    if run.damaged:
        lines.append(f"{run.damaged} damaged record(s): their bad fields are left blank")
    if run.config:
        lines.append("config: " + ", ".join(f"{k}={setting_text(v)}"
                                            for k, v in run.config.items()))
    if run.model:
        lines.append("model: " + ", ".join(f"{k}={setting_text(v)}"
                                           for k, v in run.model.items()))
    return lines


class RunDetailsDialog(ModalScreen[Path | None]):
    """Dismisses with a checkpoint to resume from, or None."""

    DEFAULT_CSS = """
    RunDetailsDialog {
        align: center middle;
    }
    #details-box {
        width: 110;
        max-width: 100%;
        height: auto;
        max-height: 95%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    .details-head {
        text-style: bold;
        margin-top: 1;
    }
    #details-checkpoints {
        height: auto;
        max-height: 8;
    }
    .details-sample {
        color: $text-muted;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Close")]

    def __init__(self, run: Run) -> None:
        super().__init__()
        self.run = run
        self.checkpoints = run_checkpoints(run)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="details-box"):
            yield Static("\n".join(summary_lines(self.run)), id="details-summary", markup=False)
            yield Label("checkpoints (enter resumes from one)", classes="details-head")
            if self.checkpoints:
                yield OptionList(*(Option(_describe(p), id=str(p)) for p in self.checkpoints),
                                 id="details-checkpoints")
            else:
                yield Label("none left (or the run saved none)", id="details-no-checkpoints")
            yield Label(f"last samples ({len(self.run.samples)} logged)",
                        classes="details-head")
            for it, text in self.run.samples[-LAST_SAMPLES:]:
                yield Static(f"iter {it}:\n{text}", classes="details-sample", markup=False)
            yield Label("esc closes", classes="details-sample")

    def on_mount(self) -> None:
        for listing in self.query(OptionList):
            listing.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.is_current:
            self.dismiss(Path(event.option.id))

    def action_cancel(self) -> None:
        if self.is_current:
            self.dismiss(None)


def _describe(path: Path) -> str:
    try:
        info = checkpoint_info(path)
    except CheckpointError:  # a damaged file: still listed, loading it says why
        return path.name
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(info.saved_at))
    return f"iter {info.iteration:>9}   {when}   {path.name}"
