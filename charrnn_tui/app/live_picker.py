"""The list `charrnn-tui attach` shows when several runs are live: enter joins one.

The table is the live runs' (`link.client.LIVE_COLUMNS`: run id, corpus, model, iteration,
how long it has run, paused or not), newest first; what the runs say is drawn literally,
its control characters replaced (`engine.text.visible`).
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Label

from charrnn_tui.link.client import LIVE_COLUMNS, LiveRun


class LiveRunPicker(App[Path | None]):
    """Returns the socket of the run picked, or None."""

    TITLE = "charrnn-tui attach"
    DEFAULT_CSS = """
    #picker-head {
        padding: 0 1;
        text-style: bold;
    }
    """
    BINDINGS = [Binding("q,escape", "cancel", "Cancel"), Binding("enter", "pick", "Attach")]

    def __init__(self, runs: list[LiveRun]) -> None:
        super().__init__()
        self.runs = runs

    def compose(self) -> ComposeResult:
        yield Label(f"{len(self.runs)} live runs: enter attaches, q cancels", id="picker-head")
        yield DataTable(id="picker-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns(*LIVE_COLUMNS)
        now = time.time()
        for run in self.runs:
            table.add_row(*(Text(cell) for cell in run.row(now)))
        table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_pick()

    def action_pick(self) -> None:
        row = self.query_one(DataTable).cursor_row
        if 0 <= row < len(self.runs):
            self.exit(self.runs[row].path)

    def action_cancel(self) -> None:
        self.exit(None)
